"""The `recommendations` service target: `ecom.recommendations.v1.RecommendationsService`.

Built-in algorithms (app id "ecom.recommendations") are computed from per-day statistics in the
service's own tables (`tables.py`), kept up to date from the orders service's `order_approved`
and `order_canceled` events by a durable consumer (`events.py`), never by reading orders:
FREQUENTLY_BOUGHT_TOGETHER from pair counts, BEST_SELLERS from item sales. Other algorithms come
from the site's recommendations providers (`providers.py`). Every recommended item is checked
with its catalog provider (`catalog.py`). docs/recommendations.md records the decisions.

Background jobs of the binding: the order-event consumer and the purge of statistics older than
every window (`purge.py`). Settings: `settings.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from ecom.recommendations.v1 import recommendations_service_pb2, recommendations_service_pb2_grpc
from services.platform.events.consumer import EventConsumer
from services.platform.module import Binding, ServiceModule
from services.platform.sites import SiteDirectory
from services.recommendations.api import RecommendationsServicer
from services.recommendations.events import CONSUMER_NAME, EVENT_TYPES, order_handler
from services.recommendations.purge import StatisticsPurger
from services.recommendations.service import RecommendationsService
from services.recommendations.settings import RecommendationSettings

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

SERVICE_NAME = recommendations_service_pb2.DESCRIPTOR.services_by_name[
    "RecommendationsService"
].full_name
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    settings = RecommendationSettings.from_config(runtime.config)
    database = runtime.database(MODULE.name)
    service = RecommendationsService(
        database, runtime, settings, SiteDirectory.from_config(runtime.config)
    )
    recommendations_service_pb2_grpc.add_RecommendationsServiceServicer_to_server(
        RecommendationsServicer(service), server
    )
    consumer = EventConsumer(CONSUMER_NAME, runtime.bus, database, EVENT_TYPES, order_handler())
    purger = StatisticsPurger(database, settings)
    return Binding(service_names=[SERVICE_NAME], background=[consumer.run, purger.run])


MODULE = ServiceModule(
    name="recommendations",
    bind=bind,
    migrations=MIGRATIONS,
    metadata_module="services.recommendations.tables",
)
