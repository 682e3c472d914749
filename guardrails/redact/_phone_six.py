"""6-digit strings that ``PhoneNumberMatcher`` accepts (see :mod:`._phone_short`), as a
zlib-compressed bitmap over 000000..999999 (34700 set bits), phonenumbers 9.0.43."""

from __future__ import annotations

import base64
import functools
import zlib

__all__ = ["valid_6"]

_DATA = (
    "eNrt3UsSgyAMAFBv4P1v6Q3s1u5gTCKf97ZOh2owEKn0OACA/dwPZ/cn/riYAKSNUeVcfkCGAwAAQKEIAIA5HAAAAAAAAAAAUM7P"
    "k8R8H2IPAAAAAAAAe7osHAIAAAAAAAAAAAAAAAzn+crH2f3ptjdGxtycrunMr+4N986kxpPOo7/xtgOrxDzwzAMDVdHhKu6P/l5i"
    "B8yA3v7uwB0X84pvldV4f6beN8MFXt3JBpbAeCSl12viDYYDx8F3Q9E4Gc4crr1iqRjVkuJxfpl9DCxL9faKKrUi5u9unJknE0l/"
    "HpBVpQ5T11YUDarUzAzX38ZkVeqSj0UCY56U4bImkFYcZLjsYTvr4UBFxbLKHG6yDhe4qBc4QO67uhQ4Q15lpeHT+qP6gdAxccwn"
    "K5GHed5eUTRccQcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAABgFj/ljs6a"
)


@functools.lru_cache(maxsize=1)
def _bits() -> bytes:
    return zlib.decompress(base64.b64decode("".join(_DATA)))


def valid_6(digits: str) -> bool:
    """True when the 6 ASCII digits ``digits`` form a number the matcher accepts."""
    i = int(digits)
    return bool(_bits()[i >> 3] >> (i & 7) & 1)
