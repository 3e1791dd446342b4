"""Registry product errors, each with its HTTP status."""

from shared.errors import Conflict, NotFound


class ProductAlreadyFiled(Conflict):
    slug = "product-already-filed"
    title = "Product already filed"


class ProductAlreadyDecided(Conflict):
    slug = "product-already-decided"
    title = "Product already decided"


class ProductNotFound(NotFound):
    slug = "product-not-found"
    title = "Product not found"
