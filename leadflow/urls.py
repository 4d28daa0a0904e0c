from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from leadflow.accounts.urls import hub_urlpatterns
from leadflow.api import api


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


# What websites and programs call by the thousand comes first (the API, form posts, the tracking
# collector): their requests then skip trying every page pattern before them.
urlpatterns = [
    path("api/", api.urls),
    path("", include("leadflow.capture.urls")),
    path("", include("leadflow.tracking.urls")),
    path("", include("leadflow.leads.urls")),
    path("imports/", include("leadflow.imports.urls")),
    path("", include("leadflow.integrations.urls")),
    path("scoring/", include("leadflow.scoring.urls")),
    path("predictive/", include("leadflow.predictive.urls")),
    path("", include("leadflow.routing.urls")),
    path("", include("leadflow.mail.urls")),
    path("nurture/", include("leadflow.nurture.urls")),
    path("accounts/", include("leadflow.accounts.urls")),
    *hub_urlpatterns,
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

if settings.LEADFLOW_BENCH_ENDPOINTS:
    urlpatterns.append(path("bench/", include("bench.endpoints")))
