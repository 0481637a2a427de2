from .sources import PostSource, SourceResource
from .warehouse import WarehouseResource, transaction

__all__ = ["PostSource", "SourceResource", "WarehouseResource", "transaction"]
