"""Shapes of the worklist API: stored studies and their links, targets, re-associations."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pacs.models import Series, Study
from ris.api.serializers import MAX_ID, PatientListSerializer
from ris.models import Exam
from worklist.models import Reassociation


class ArchivePatientSerializer(serializers.Serializer):
    """The patient as the archive serves it (DICOM values)."""

    patient_id = serializers.CharField()
    patient_name = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    sex = serializers.CharField()


class ExamBriefSerializer(serializers.ModelSerializer):
    patient = PatientListSerializer()
    procedures = serializers.SerializerMethodField()

    class Meta:
        model = Exam
        fields = ["id", "accession_number", "study_instance_uid", "modality", "status", "patient", "procedures"]

    def get_procedures(self, exam: Exam) -> list[str]:
        return [order.procedure.name for order in exam.orders.all()]


class SeriesBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Series
        fields = ["id", "series_instance_uid", "modality", "series_number", "series_description", "number_of_instances"]


class StudySerializer(serializers.ModelSerializer):
    """A stored study with its patient and the exam it is linked to (null: unmatched)."""

    patient = ArchivePatientSerializer()
    exam = serializers.IntegerField(source="link_exam_id", allow_null=True, read_only=True)
    link_method = serializers.CharField(allow_null=True, read_only=True)

    class Meta:
        model = Study
        fields = [
            "id", "study_instance_uid", "study_date", "study_time", "accession_number", "study_description",
            "modalities_in_study", "number_of_series", "number_of_instances", "patient", "exam", "link_method",
            "created_at",
        ]  # fmt: skip


class StudyDetailSerializer(StudySerializer):
    series = SeriesBriefSerializer(many=True, read_only=True, source="series_list")

    class Meta(StudySerializer.Meta):
        fields = [*StudySerializer.Meta.fields, "series"]


class ReassociationSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)
    done_by = serializers.CharField(source="done_by.get_username", allow_null=True, default=None, read_only=True)
    undone_by = serializers.CharField(source="undone_by.get_username", allow_null=True, default=None, read_only=True)
    undoable = serializers.SerializerMethodField()

    class Meta:
        model = Reassociation
        fields = [
            "id", "kind", "study", "study_after", "series_instance_uid", "exam_before", "exam_after", "old", "new",
            "reason", "done_by", "done_at", "undone_by", "undone_at", "undoable",
        ]  # fmt: skip

    @extend_schema_field(serializers.BooleanField())
    def get_undoable(self, record: Reassociation) -> bool:
        from worklist.selectors import reassociation_undoable

        return reassociation_undoable(reassociation=record)


class StudyQuerySerializer(serializers.Serializer):
    unmatched = serializers.BooleanField(default=True, help_text="Only studies linked to no exam.")
    q = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="Patient ID, accession, name, pinyin."
    )
    modality = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    date_from = serializers.DateField(required=False, allow_null=True, default=None)
    date_to = serializers.DateField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class TargetQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=100, help_text="Accession number, patient ID, name, pinyin or initials.")


class ReassociateSerializer(serializers.Serializer):
    """Give the study (or series) to an exam, or to a patient without an order: exactly one of them."""

    exam = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)
    patient = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=200)

    def validate(self, attrs: dict) -> dict:
        if (attrs["exam"] is None) == (attrs["patient"] is None):
            raise serializers.ValidationError({"detail": "Give either an exam or a patient."})
        return attrs


class UnbindRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
