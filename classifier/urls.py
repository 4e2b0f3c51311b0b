from django.urls import path

from classifier import views

app_name = "classifier"

urlpatterns = [
    path("", views.model_card, name="model-card"),
    path("figures/<slug:name>.png", views.model_figure, name="model-figure"),
    path("versions/<int:number>/", views.model_card, name="version-card"),
    path(
        "versions/<int:number>/figures/<slug:name>.png",
        views.model_figure,
        name="version-figure",
    ),
]
