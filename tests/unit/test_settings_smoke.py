from django.conf import settings


def test_test_session_uses_its_own_var_dir():
    assert "pacs-test-" in str(settings.VAR_DIR)
    assert str(settings.PACS_STORAGE_ROOT).startswith(str(settings.VAR_DIR))
