//! The geohash math behind the GEO commands, as Redis 7.0 does it (`geohash.c`, `geohash_helper.c`), so
//! that scores, decoded positions, distances and the cells a search visits are bit-for-bit Redis's.
//!
//! A position is a 52-bit score: longitude and latitude each cut into 2^26 steps over
//! [-180, 180] × [-85.05112878, 85.05112878] and interleaved (latitude on the even bits, longitude on the
//! odd ones). A score decodes to the centre of its cell. Distances are the haversine formula on a sphere of
//! Redis's radius. A search estimates a cell size from the radius, takes the cell of the centre and its
//! eight neighbours (dropping the ones the shape cannot reach), and the caller filters the members of those
//! score ranges by exact distance.

/// The precision of stored scores: 26 steps per axis, 52 bits.
pub const STEP_MAX: u8 = 26;
/// The lowest latitude Redis can index (EPSG:900913 limits).
pub const LAT_MIN: f64 = -85.05112878;
/// The highest latitude Redis can index.
pub const LAT_MAX: f64 = 85.05112878;
/// The lowest longitude.
pub const LON_MIN: f64 = -180.0;
/// The highest longitude.
pub const LON_MAX: f64 = 180.0;
/// Redis's earth radius in meters (the quadratic mean radius of WGS-84).
pub const EARTH_RADIUS: f64 = 6372797.560856;

const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A cell: the first `2 * step` bits of an interleaved position. `bits == 0 && step == 0` is "no cell".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The interleaved bits (latitude on even bits, longitude on odd bits).
    pub bits: u64,
    /// Bits per axis.
    pub step: u8,
}

impl Cell {
    /// No cell (a neighbour a search skips).
    pub const NONE: Cell = Cell { bits: 0, step: 0 };

    /// Whether this is [`Cell::NONE`].
    pub fn is_none(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The scores `[min, max)` of the positions inside this cell.
    pub fn score_range(&self) -> (u64, u64) {
        let shift = 52 - u32::from(self.step) * 2;
        (self.bits << shift, (self.bits + 1) << shift)
    }
}

/// An interval of one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lower end.
    pub min: f64,
    /// Upper end.
    pub max: f64,
}

/// The longitude and latitude ranges of a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    /// Longitudes.
    pub lon: Range,
    /// Latitudes.
    pub lat: Range,
}

const LON_RANGE: Range = Range { min: LON_MIN, max: LON_MAX };
const LAT_RANGE: Range = Range { min: LAT_MIN, max: LAT_MAX };

/// Spreads the 32 bits of `v` on the even bits of a u64.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `v` into a u32.
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// C's conversion of a double to `uint32_t` (truncation; the inputs here are in range).
fn to_u32(v: f64) -> u32 {
    v as u32
}

/// Encodes a position at `step` bits per axis over the given ranges; `None` outside Redis's limits or
/// the ranges.
fn encode_in(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Cell> {
    if step == 0 || step > 32 {
        return None;
    }
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    Some(Cell { bits: spread(to_u32(lat_off)) | (spread(to_u32(lon_off)) << 1), step })
}

/// The cell of a position at `step` bits per axis (`None` outside the indexable area).
pub fn encode(lon: f64, lat: f64, step: u8) -> Option<Cell> {
    encode_in(LON_RANGE, LAT_RANGE, lon, lat, step)
}

/// The 52-bit score of a position (which must be inside the indexable area).
pub fn score_of(lon: f64, lat: f64) -> Option<u64> {
    encode(lon, lat, STEP_MAX).map(|c| c.score_range().0)
}

/// The area of a cell; `None` for [`Cell::NONE`].
pub fn decode(cell: Cell) -> Option<Area> {
    if cell.is_none() {
        return None;
    }
    let lat_bits = squash(cell.bits);
    let lon_bits = squash(cell.bits >> 1);
    let div = (1u64 << cell.step) as f64;
    let lat_scale = LAT_MAX - LAT_MIN;
    let lon_scale = LON_MAX - LON_MIN;
    let at = |min: f64, i: u32, scale: f64| min + (f64::from(i) / div) * scale;
    // C adds 1 in 32 bits (it wraps for scores that are not positions).
    let next = |min: f64, i: u32, scale: f64| min + (f64::from(i.wrapping_add(1)) / div) * scale;
    Some(Area {
        lat: Range {
            min: at(LAT_MIN, lat_bits, lat_scale),
            max: next(LAT_MIN, lat_bits, lat_scale),
        },
        lon: Range {
            min: at(LON_MIN, lon_bits, lon_scale),
            max: next(LON_MIN, lon_bits, lon_scale),
        },
    })
}

/// C's (x86-64) conversion of a double to `uint64_t`, for scores that are not geo positions.
fn c_to_u64(s: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    let cvtt = |x: f64| -> u64 {
        if x.is_nan() || !(-TWO63..TWO63).contains(&x) { 1 << 63 } else { x as i64 as u64 }
    };
    if s < TWO63 { cvtt(s) } else { cvtt(s - TWO63) ^ (1 << 63) }
}

/// The position (longitude, latitude) a score decodes to: the centre of its cell, clamped to the limits.
pub fn decode_score(score: f64) -> (f64, f64) {
    let cell = Cell { bits: c_to_u64(score), step: STEP_MAX };
    // A cell of step 26 always decodes.
    let a = decode(cell).unwrap_or(Area { lon: LON_RANGE, lat: LAT_RANGE });
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The standard 11-character geohash of a score (re-encoded over latitudes [-90, 90], as GEOHASH does).
pub fn geohash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = decode_score(score);
    let bits = encode_in(LON_RANGE, Range { min: -90.0, max: 90.0 }, lon, lat, STEP_MAX)
        .map_or(0, |c| c.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

/// Moves a cell one step east (`d > 0`) or west along the longitude bits, wrapping around.
fn move_x(cell: &mut Cell, d: i8) {
    let shift = 64 - u32::from(cell.step) * 2;
    let x = cell.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = cell.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    let x = if d > 0 { x.wrapping_add(zz + 1) } else { (x | zz).wrapping_sub(zz + 1) };
    cell.bits = (x & (0xaaaa_aaaa_aaaa_aaaau64 >> shift)) | y;
}

/// Moves a cell one step north (`d > 0`) or south along the latitude bits, wrapping around.
fn move_y(cell: &mut Cell, d: i8) {
    let shift = 64 - u32::from(cell.step) * 2;
    let x = cell.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = cell.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    let y = if d > 0 { y.wrapping_add(zz + 1) } else { (y | zz).wrapping_sub(zz + 1) };
    cell.bits = x | (y & (0x5555_5555_5555_5555u64 >> shift));
}

fn moved(cell: Cell, dx: i8, dy: i8) -> Cell {
    let mut c = cell;
    if dx != 0 {
        move_x(&mut c, dx);
    }
    if dy != 0 {
        move_y(&mut c, dy);
    }
    c
}

/// Great-circle distance in meters between two positions (Redis's haversine).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS * a.sqrt().asin()
}

/// Distance in meters along a meridian.
fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// What a search covers, in the unit of the request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShapeKind {
    /// A circle of this radius.
    Radius(f64),
    /// An axis-aligned box of this width and height.
    Box {
        /// East-west size.
        width: f64,
        /// North-south size.
        height: f64,
    },
}

/// A search shape: its centre, its size and the unit's size in meters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Longitude of the centre.
    pub lon: f64,
    /// Latitude of the centre.
    pub lat: f64,
    /// Meters per unit.
    pub conversion: f64,
    /// Circle or box.
    pub kind: ShapeKind,
}

impl Shape {
    /// The distance in meters from the centre to a position if the position is inside the shape.
    pub fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.kind {
            ShapeKind::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                let (w, h) = (width * self.conversion, height * self.conversion);
                if lat_distance(lat, self.lat) > h / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > w / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// `[min_lon, min_lat, max_lon, max_lat]` of the area the shape may reach.
    fn bounds(&self) -> [f64; 4] {
        let (h, w) = match self.kind {
            ShapeKind::Radius(r) => (self.conversion * r, self.conversion * r),
            ShapeKind::Box { width, height } => {
                (self.conversion * (height / 2.0), self.conversion * (width / 2.0))
            }
        };
        let lat_delta = rad_deg(h / EARTH_RADIUS);
        let lon_delta_top = rad_deg(w / EARTH_RADIUS / deg_rad(self.lat + lat_delta).cos());
        let lon_delta_bottom = rad_deg(w / EARTH_RADIUS / deg_rad(self.lat - lat_delta).cos());
        let delta = if self.lat < 0.0 { lon_delta_bottom } else { lon_delta_top };
        [self.lon - delta, self.lat - lat_delta, self.lon + delta, self.lat + lat_delta]
    }

    /// The cells to scan, in Redis's order: the centre's, then north, south, east, west, north-east,
    /// north-west, south-east, south-west ([`Cell::NONE`] for a neighbour the shape cannot reach).
    pub fn cells(&self) -> [Cell; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let radius = match self.kind {
            ShapeKind::Radius(r) => r,
            ShapeKind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps(radius, self.lat);
        let around = |steps: u8| {
            // The centre was validated (or decoded), so it always encodes.
            let c = encode(self.lon, self.lat, steps).unwrap_or(Cell { bits: 0, step: steps });
            [
                c,
                moved(c, 0, 1),
                moved(c, 0, -1),
                moved(c, 1, 0),
                moved(c, -1, 0),
                moved(c, 1, 1),
                moved(c, -1, 1),
                moved(c, 1, -1),
                moved(c, -1, -1),
            ]
        };
        let mut n = around(steps);
        let area = |c: Cell| decode(c).unwrap_or(Area { lon: LON_RANGE, lat: LAT_RANGE });
        // The estimated step may be too coarse near the edge of the centre's cell.
        let too_coarse = area(n[1]).lat.max < max_lat
            || area(n[2]).lat.min > min_lat
            || area(n[3]).lon.max < max_lon
            || area(n[4]).lon.min > min_lon;
        if steps > 1 && too_coarse {
            steps -= 1;
            n = around(steps);
        }
        if steps >= 2 {
            let a = area(n[0]);
            let mut drop = |idx: [usize; 3]| idx.iter().for_each(|&i| n[i] = Cell::NONE);
            if a.lat.min < min_lat {
                drop([2, 8, 7]);
            }
            if a.lat.max > max_lat {
                drop([1, 5, 6]);
            }
            if a.lon.min < min_lon {
                drop([4, 8, 6]);
            }
            if a.lon.max > max_lon {
                drop([3, 7, 5]);
            }
        }
        n
    }
}

/// The bits per axis of the cells a search of `range_m` meters around latitude `lat` scans.
pub fn estimate_steps(range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return 26;
    }
    let mut range = range_m;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669 "Catania" (redis.io)
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        let (lon, lat) = decode_score(3479099956230698.0);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        assert_eq!(&geohash_string(3479099956230698.0), b"sqc8b49rny0");
        assert_eq!(&geohash_string(3479447370796909.0), b"sqdtr74hyu0");
        assert_eq!(score_of(181.0, 0.0), None);
        assert_eq!(score_of(0.0, 85.06), None);
    }

    #[test]
    fn distances() {
        let (a, b) = (decode_score(3479099956230698.0), decode_score(3479447370796909.0));
        let d = distance(a.0, a.1, b.0, b.1);
        assert!((d - 166274.1516).abs() < 1e-4, "{d}");
        assert_eq!(distance(1.0, 2.0, 1.0, 3.0), lat_distance(2.0, 3.0));
    }

    #[test]
    fn neighbours_wrap_around() {
        let c = encode(179.99, 0.0, 4).unwrap();
        let east = moved(c, 1, 0);
        assert!(decode(east).unwrap().lon.min < -170.0);
        assert_eq!(moved(east, -1, 0), c);
        let n = moved(c, 0, 1);
        assert_eq!(moved(n, 0, -1), c);
    }

    #[test]
    fn steps() {
        assert_eq!(estimate_steps(0.0, 0.0), 26);
        assert_eq!(estimate_steps(1.0, 0.0), 24);
        assert_eq!(estimate_steps(1.0, 70.0), 23);
        assert_eq!(estimate_steps(1.0, -85.0), 22);
        assert_eq!(estimate_steps(1e12, 0.0), 1);
        assert_eq!(estimate_steps(f64::INFINITY, 0.0), 1);
    }
}
