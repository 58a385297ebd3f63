from django.conf import settings


def test_test_session_never_touches_the_projects_var_dir():
    assert "pacs-test-" in str(settings.VAR_DIR)
    assert str(settings.PACS_CACHE_ROOT).startswith(str(settings.VAR_DIR))
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        assert str(database["TEST"]["NAME"]).startswith(str(settings.VAR_DIR))
