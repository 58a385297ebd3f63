"""Shapes of the reporting API."""

from __future__ import annotations

import json

from django.urls import reverse
from rest_framework import serializers

from reporting.models import CriticalCategory, KeyImage, Phrase, Report, ReportTemplate, ReportVersion


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    section = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    excerpt = serializers.CharField()
    severity = serializers.CharField()


class KeyImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The PNG (image with its annotations).")

    class Meta:
        model = KeyImage
        fields = [
            "id",
            "study_instance_uid",
            "series_instance_uid",
            "sop_instance_uid",
            "frame",
            "annotations",
            "caption",
            "position",
            "url",
        ]

    def get_url(self, image: KeyImage) -> str:
        return reverse("reporting-report-key-image-png", args=[image.report_id, image.pk])


class AnnotationListField(serializers.ListField):
    """A JSON list, sent as a list or as a string holding one (a multipart form can only send strings)."""

    def get_value(self, dictionary: object) -> object:
        if hasattr(dictionary, "getlist"):
            values = dictionary.getlist(self.field_name)
            if len(values) == 1 and isinstance(values[0], str) and values[0].lstrip().startswith("["):
                return values[0]
        return super().get_value(dictionary)

    def to_internal_value(self, data: object) -> list:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else []
            except ValueError:
                raise serializers.ValidationError("not JSON") from None
        return super().to_internal_value(data)


class KeyImageCreateSerializer(serializers.Serializer):
    png = serializers.CharField(help_text="The image rendered with its annotations: base64 or a data: URI of a PNG.")
    study_instance_uid = serializers.CharField(max_length=64)
    series_instance_uid = serializers.CharField(max_length=64, required=False, default="")
    sop_instance_uid = serializers.CharField(max_length=64, required=False, default="")
    frame = serializers.IntegerField(min_value=1, required=False, default=1)
    annotations = AnnotationListField(required=False, default=list)
    caption = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class VersionSerializer(serializers.ModelSerializer):
    approved_by = serializers.StringRelatedField()
    submitted_by = serializers.StringRelatedField()
    reviewed_by = serializers.StringRelatedField()

    class Meta:
        model = ReportVersion
        fields = [
            "number",
            "status",
            "sections",
            "measurements",
            "submitted_by",
            "submitted_at",
            "reviewed_by",
            "reviewed_at",
            "approved_by",
            "approved_at",
            "amendment_reason",
        ]


class ReportSerializer(serializers.ModelSerializer):
    accession_number = serializers.CharField(source="exam.accession_number")
    study_instance_uid = serializers.CharField(source="exam.study_instance_uid")
    locked_by = serializers.StringRelatedField()
    key_images = serializers.SerializerMethodField()
    versions = VersionSerializer(many=True)

    class Meta:
        model = Report
        fields = [
            "id",
            "exam",
            "accession_number",
            "study_instance_uid",
            "template",
            "status",
            "version",
            "sections",
            "measurements",
            "critical",
            "critical_category",
            "critical_note",
            "locked_by",
            "locked_at",
            "submitted_at",
            "reviewed_at",
            "approved_at",
            "key_images",
            "versions",
            "updated_at",
        ]

    def get_key_images(self, report: Report) -> list[dict]:
        return KeyImageSerializer(report.key_images.filter(removed_at__isnull=True), many=True).data


class SaveSerializer(serializers.Serializer):
    sections = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    measurements = serializers.DictField(required=False)
    release_lock = serializers.BooleanField(
        default=False, help_text="Give the edit lock back after saving (the editor is being left)."
    )


class LockSerializer(serializers.Serializer):
    take_over = serializers.BooleanField(default=False)


class TemplateChoiceSerializer(serializers.Serializer):
    template = serializers.PrimaryKeyRelatedField(queryset=ReportTemplate.objects.all())


class SubmitSerializer(serializers.Serializer):
    overrides = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class CriticalSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=CriticalCategory.choices)
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class TemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReportTemplate
        fields = ["id", "name", "modality", "body_part", "sections", "default_text", "measurement_fields"]


class PhraseSerializer(serializers.ModelSerializer):
    children = serializers.SerializerMethodField()
    shared = serializers.SerializerMethodField()

    class Meta:
        model = Phrase
        fields = ["id", "title", "text", "section", "shortcut", "modality", "shared", "children"]

    def get_children(self, phrase: Phrase) -> list[dict]:
        return PhraseSerializer(getattr(phrase, "tree_children", []), many=True).data

    def get_shared(self, phrase: Phrase) -> bool:
        return phrase.owner_id is None
