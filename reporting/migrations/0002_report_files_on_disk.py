"""Key-image PNGs and signed PDFs move from database columns to files in the storage folder.

Existing rows' bytes are written to ``{storage root}/{organization}/reports/...`` (atomically) and the rows keep the
path; going back reads the files into the columns again.
"""

from django.db import migrations, models

from reporting import files


def _slugs(apps) -> dict[int, str]:  # type: ignore[no-untyped-def]
    Organization = apps.get_model("pacs", "Organization")
    return dict(Organization.objects.values_list("pk", "slug"))


def to_files(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    KeyImage = apps.get_model("reporting", "KeyImage")
    ReportVersion = apps.get_model("reporting", "ReportVersion")
    slugs = _slugs(apps)
    for image in KeyImage.objects.select_related("report").filter(png_path="").iterator():
        path = files.key_image_relative_path(
            organization_slug=slugs[image.report.organization_id], report_id=image.report_id
        )
        files.file_write(path, bytes(image.png))
        KeyImage.objects.filter(pk=image.pk).update(png_path=path)
    for version in ReportVersion.objects.select_related("report").filter(pdf_path="").iterator():
        if not version.pdf:
            continue
        path = files.pdf_relative_path(
            organization_slug=slugs[version.report.organization_id], report_id=version.report_id, number=version.number
        )
        files.file_write(path, bytes(version.pdf))
        ReportVersion.objects.filter(pk=version.pk).update(pdf_path=path)


def to_columns(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    KeyImage = apps.get_model("reporting", "KeyImage")
    ReportVersion = apps.get_model("reporting", "ReportVersion")
    for image in KeyImage.objects.exclude(png_path="").iterator():
        KeyImage.objects.filter(pk=image.pk).update(png=files.file_read(image.png_path))
    for version in ReportVersion.objects.exclude(pdf_path="").iterator():
        ReportVersion.objects.filter(pk=version.pk).update(pdf=files.file_read(version.pdf_path))


class Migration(migrations.Migration):
    dependencies = [
        ("pacs", "0001_initial"),
        ("reporting", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="keyimage",
            name="png_path",
            field=models.CharField(default="", max_length=255),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="reportversion",
            name="pdf_path",
            field=models.CharField(blank=True, max_length=255),
        ),
        # A default lets the reverse migration re-add the column to a table that has rows.
        migrations.AlterField(model_name="keyimage", name="png", field=models.BinaryField(default=b"")),
        migrations.RunPython(to_files, to_columns, elidable=True),
        migrations.RemoveField(model_name="keyimage", name="png"),
        migrations.RemoveField(model_name="reportversion", name="pdf"),
    ]
