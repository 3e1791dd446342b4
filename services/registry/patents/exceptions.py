"""Registry IP errors (patents, trademarks), each with its HTTP status."""

from shared.errors import Conflict, NotFound


class PatentAlreadyRegistered(Conflict):
    slug = "patent-already-registered"
    title = "Patent already registered"


class PatentNotFound(NotFound):
    slug = "patent-not-found"
    title = "Patent not found"


class TrademarkAlreadyRegistered(Conflict):
    slug = "trademark-already-registered"
    title = "Trademark already registered"


class TrademarkNotFound(NotFound):
    slug = "trademark-not-found"
    title = "Trademark not found"
