"""A pydantic base whose instances given every field share one set of the names given.

pydantic keeps, per instance, the set of the fields given (``model_fields_set``): 200-730 bytes
each, two thirds of a 50-domain catalog's memory (107,000 models: 76 of 115 MB). An instance given
every field, as every model read back from JSON meshkit wrote, shares its class's one set instead.
That set already holds every name: setting a field adds a name it has, and a copy (``model_copy``)
copies the set, so no instance reports another's fields.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel


class LeanModel(BaseModel):
    """A model whose instances given every field share their class's set of field names.

    >>> class Point(LeanModel):
    ...     x: int
    ...     y: int = 0
    >>> a, b, c = Point(x=1, y=2), Point(x=3, y=4), Point(x=5)
    >>> a.model_fields_set is b.model_fields_set, c.model_fields_set
    (True, {'x'})
    >>> a.model_copy(update={"y": 5}).model_fields_set is a.model_fields_set
    False
    """

    _every_field: ClassVar[set[str]] = set()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._every_field = set(cls.model_fields)

    def model_post_init(self, context: Any, /) -> None:
        every = self._every_field
        # (The names given are some of the fields: a length says whether they are all of them.)
        if len(self.__pydantic_fields_set__) == len(every):
            object.__setattr__(self, "__pydantic_fields_set__", every)
