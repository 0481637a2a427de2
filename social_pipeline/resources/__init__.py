from .files import FileStoresResource
from .sources import PostSource, SimulatedSourceResource, SourceResource, XApiSourceResource
from .warehouse import WarehouseResource, transaction

__all__ = ["FileStoresResource", "PostSource", "SimulatedSourceResource", "SourceResource", "WarehouseResource",
           "XApiSourceResource", "transaction"]
