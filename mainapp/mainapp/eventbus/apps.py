from django.apps import AppConfig


class EventbusConfig(AppConfig):
    name = "mainapp.eventbus"
    label = "eventbus"
    verbose_name = "Events"
