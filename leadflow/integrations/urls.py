from django.urls import path

from leadflow.integrations import inbound_views, views

app_name = "integrations"

urlpatterns = [
    # Where sources post leads (inbound_views.py): with or without a trailing slash, a POST must not redirect.
    path("hooks/<slug:public_id>", inbound_views.hook, name="hook"),
    path("hooks/<slug:public_id>/", inbound_views.hook, name="hook_slash"),
    # Settings of inbound sources (views.py).
    path("integrations/sources/", views.source_list, name="sources"),
    path("integrations/sources/<int:pk>/", views.source_detail, name="source"),
    path("integrations/sources/<int:pk>/secret/", views.source_rotate, name="source_rotate"),
    path("integrations/sources/<int:pk>/deliveries/", views.source_deliveries, name="source_deliveries"),
]
