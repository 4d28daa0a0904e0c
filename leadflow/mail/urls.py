from django.urls import path

from leadflow.mail import views

app_name = "mail"

urlpatterns = [
    path("mail/", views.dashboard, name="dashboard"),
    path("mail/outbox/<int:pk>/retry/", views.retry, name="retry"),
    path("mail/suppressions/", views.suppression_add, name="suppression_add"),
    path("mail/suppressions/<int:pk>/remove/", views.suppression_remove, name="suppression_remove"),
    path("mail/o/<str:signed>.gif", views.open_pixel, name="open"),
    path("mail/c/<str:signed>/<int:position>/", views.click, name="click"),
    path("mail/u/<str:signed>/", views.unsubscribe, name="unsubscribe"),
    path("mail/inbound/", views.inbound, name="inbound"),
]
