from django.urls import path

from providers.batch import views

app_name = "batch"

urlpatterns = [
    path("", views.batch_list, name="list"),
    path("submit/", views.batch_submit, name="submit"),
    path("<int:pk>/", views.batch_detail, name="detail"),
    path("<int:pk>/refresh/", views.batch_refresh, name="refresh"),
    path("<int:pk>/cancel/", views.batch_cancel, name="cancel"),
    path("<int:pk>/results.jsonl", views.batch_results, name="results"),
]
