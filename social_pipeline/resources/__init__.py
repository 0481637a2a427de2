from .files import FileStoresResource
from .sources import SimulatedSourceResource, SourceResource, XApiSourceResource
from .warehouse import WarehouseResource

__all__ = ["FileStoresResource", "SimulatedSourceResource", "SourceResource", "WarehouseResource", "XApiSourceResource"]
