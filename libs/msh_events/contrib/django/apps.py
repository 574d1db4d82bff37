from django.apps import AppConfig


class EventbusConfig(AppConfig):
    name = "msh_events.contrib.django"
    label = "eventbus"  # the tables' names and the migrations' app (kept from mainapp/eventbus)
    verbose_name = "Events"
