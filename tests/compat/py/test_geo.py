"""Geo commands through upstash-redis, with base64 responses (default) and without.

Expected values are redis-server 7.0.15's replies to the same commands (see
crates/engine/tests/transcripts/geo.txt) after the client's conversions: GEODIST -> float | None,
GEOPOS -> [(lon, lat) | None], searches with WITH* options -> [GeoSearchResult]. Includes the
Python-only GEORADIUS family.
"""

import pytest
from upstash_redis.errors import UpstashError
from upstash_redis.utils import GeoSearchResult

PALERMO = (13.361389, 38.115556, "Palermo")
CATANIA = (15.087269, 37.502669, "Catania")
PALERMO_POS = (13.36138933897018433, 38.11555639549629859)
CATANIA_POS = (15.08726745843887329, 37.50266842333162032)


def test_geoadd_geopos_geohash_geodist(redis, k):
    assert redis.geoadd(k("g"), PALERMO, CATANIA) == 2
    assert redis.geoadd(k("g"), PALERMO) == 0
    assert redis.geoadd(k("g"), (1, 1, "Palermo"), nx=True) == 0
    assert redis.geoadd(k("g"), (1, 1, "x"), xx=True) == 0
    assert redis.geoadd(k("g"), (13.5, 38.1, "Palermo"), (1, 1, "y"), ch=True) == 2
    redis.geoadd(k("g"), PALERMO)
    assert redis.zscore(k("g"), "Palermo") == 3479099956230698.0
    assert redis.geopos(k("g"), "Palermo", "nobody", "Catania") == [PALERMO_POS, None, CATANIA_POS]
    assert redis.geohash(k("g"), "Palermo", "Catania", "nobody") == ["sqc8b49rny0", "sqdtr74hyu0", None]
    assert redis.geodist(k("g"), "Palermo", "Catania") == 166274.1516
    assert redis.geodist(k("g"), "Palermo", "Catania", "KM") == 166.2742
    assert redis.geodist(k("g"), "Palermo", "Catania", "FT") == 545518.8700
    assert redis.geodist(k("g"), "Palermo", "nobody") is None
    assert redis.geodist(k("nokey"), "Palermo", "Catania") is None


def test_geosearch(redis, k):
    redis.geoadd(k("g"), PALERMO, CATANIA)
    assert redis.geosearch(k("g"), longitude=15, latitude=37, radius=200, unit="KM", order="ASC") == [
        "Catania",
        "Palermo",
    ]
    assert redis.geosearch(
        k("g"), longitude=15, latitude=37, width=400, height=400, unit="KM", order="DESC",
        withdist=True, withhash=True, withcoord=True,
    ) == [
        GeoSearchResult("Palermo", 190.4424, 3479099956230698, *PALERMO_POS),
        GeoSearchResult("Catania", 56.4413, 3479447370796909, *CATANIA_POS),
    ]
    assert redis.geosearch(
        k("g"), member="Palermo", radius=200, unit="KM", order="DESC", count=1, withdist=True
    ) == [GeoSearchResult("Catania", 166.2742)]
    # ANY: the first match in Redis's cell scan, not the nearest.
    assert redis.geosearch(k("g"), longitude=15, latitude=37, radius=200, unit="KM", count=1, any=True) == [
        "Palermo"
    ]
    assert redis.geosearch(k("nokey"), member="x", radius=1) == []
    with pytest.raises(UpstashError, match="could not decode requested zset member"):
        redis.geosearch(k("g"), member="nobody", radius=1)


def test_geosearchstore(redis, k):
    redis.geoadd(k("g"), PALERMO, CATANIA)
    assert redis.geosearchstore(k("d"), k("g"), longitude=15, latitude=37, radius=200, unit="KM") == 2
    assert redis.zscore(k("d"), "Catania") == 3479447370796909.0
    assert (
        redis.geosearchstore(
            k("d"), k("g"), longitude=15, latitude=37, radius=200, unit="KM", order="DESC", count=1,
            storedist=True,
        )
        == 1
    )
    assert redis.zrange(k("d"), 0, -1) == ["Palermo"]
    assert redis.geosearchstore(k("d"), k("g"), longitude=0, latitude=0, radius=1) == 0
    assert redis.exists(k("d")) == 0


def test_georadius_family(redis, k):
    redis.geoadd(k("g"), PALERMO, CATANIA)
    assert redis.georadius(k("g"), 15, 37, 200, "KM", withdist=True, order="ASC") == [
        GeoSearchResult("Catania", 56.4413),
        GeoSearchResult("Palermo", 190.4424),
    ]
    assert redis.georadius_ro(k("g"), 15, 37, 100, "KM") == ["Catania"]
    assert redis.georadius(k("g"), 15, 37, 200, "KM", store=k("d")) == 2
    assert redis.zrange(k("d"), 0, -1) == ["Palermo", "Catania"]
    assert redis.georadiusbymember(k("g"), "Palermo", 100, "KM") == ["Palermo"]
    assert redis.georadiusbymember_ro(k("g"), "Palermo", 200, "KM", withhash=True, order="ASC") == [
        GeoSearchResult("Palermo", hash=3479099956230698),
        GeoSearchResult("Catania", hash=3479447370796909),
    ]


def test_geo_errors(redis, k):
    with pytest.raises(UpstashError, match=r"invalid longitude,latitude pair 200\.000000,10\.000000"):
        redis.geoadd(k("g"), (200, 10, "a"))
    with pytest.raises(UpstashError, match="unsupported unit provided. please use M, KM, FT, MI"):
        redis.execute(["GEORADIUS", k("g"), 15, 37, 200, "furlong"])
    with pytest.raises(UpstashError, match="STORE option in GEORADIUS is not compatible"):
        redis.execute(["GEORADIUS", k("g"), 15, 37, 200, "km", "WITHDIST", "STORE", k("d")])
    redis.set(k("s"), "x")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        redis.geodist(k("s"), "a", "b")


def test_geo_read_only(ro, redis_b64, k):
    redis_b64.geoadd(k("g"), PALERMO, CATANIA)
    assert ro.geodist(k("g"), "Palermo", "Catania", "KM") == 166.2742
    assert ro.georadius_ro(k("g"), 15, 37, 100, "KM") == ["Catania"]
    for call in (
        lambda: ro.geoadd(k("g"), (1, 1, "x")),
        lambda: ro.georadius(k("g"), 15, 37, 100, "KM"),
        lambda: ro.geosearchstore(k("d"), k("g"), member="Catania", radius=1),
    ):
        with pytest.raises(UpstashError, match=r"^NOPERM"):
            call()
    assert redis_b64.zcard(k("g")) == 2
