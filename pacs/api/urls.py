from rest_framework.routers import SimpleRouter

from pacs.api.tokens import ApiTokenViewSet

router = SimpleRouter(trailing_slash=False)
router.register("tokens", ApiTokenViewSet, basename="api-token")
urlpatterns = router.urls
