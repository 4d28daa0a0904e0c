from django.contrib.auth import views as auth_views
from django.urls import path

from leadflow.accounts import views
from leadflow.accounts.settings_hub import settings_hub

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]

hub_urlpatterns = [path("settings/", settings_hub, name="settings_hub")]
