"""REST API for a user's own bearer tokens: list, issue (the key is shown once), revoke."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from pacs.models import ApiToken


class ApiTokenSerializer(serializers.ModelSerializer):
    valid_days = serializers.IntegerField(
        write_only=True, required=False, min_value=1, max_value=3650, help_text="Days until the token expires."
    )

    class Meta:
        model = ApiToken
        fields = ["id", "name", "key_hint", "created_at", "last_used_at", "expires_at", "valid_days"]
        read_only_fields = ["id", "key_hint", "created_at", "last_used_at", "expires_at"]


class IssuedTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="The bearer token; shown only in this response.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The calling user's tokens. Send one as ``Authorization: Bearer <key>`` to DICOMweb."""

    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return ApiToken.objects.filter(user=self.request.user).order_by("-created_at")

    def create(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = ApiToken.issue(user=request.user, name=serializer.validated_data["name"])
        days = serializer.validated_data.get("valid_days")
        if days:
            token.expires_at = timezone.now() + timedelta(days=days)
            token.save(update_fields=["expires_at"])
        issued = IssuedTokenSerializer(token).data
        issued["key"] = key
        return Response(issued, status=status.HTTP_201_CREATED)
