//! The cost of the geo commands in the engine, for instruction counts under callgrind: loads 10,000
//! pseudo-random points around Sicily (about 300 km × 300 km), then runs `N` commands of one kind
//! (`geosearch` by default; also `geosearch-count`, `geosearch-box`, `geoadd`, `geopos`, `geodist`),
//! cycling through 1,024 prepared argvs.
//!
//! ```sh
//! cargo build --release -p larder-engine --example geo_cost
//! for n in 0 10000; do N=$n valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!   target/release/examples/geo_cost geosearch 2>&1 | grep refs; done   # (difference) / 10000
//! ```

use std::sync::Arc;

use bytes::Bytes;
use larder_engine::{Engine, ManualClock, Reply, ServerInfo};

const POINTS: usize = 10_000;

fn argv(parts: &[String]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect()
}

/// A xorshift sequence of values in `[0, 1)`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn point(&mut self) -> (String, String) {
        (format!("{:.6}", 12.5 + 3.5 * self.next()), format!("{:.6}", 36.6 + 2.7 * self.next()))
    }
}

fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "geosearch".into());
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let mut engine = Engine::new(Arc::new(ManualClock::new(0)), ServerInfo::default());
    let mut client = engine.new_client("bench".into());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for chunk in 0..POINTS / 100 {
        let mut cmd = vec!["GEOADD".to_string(), "pts".to_string()];
        for i in 0..100 {
            let (lon, lat) = rng.point();
            cmd.extend([lon, lat, format!("m{}", chunk * 100 + i)]);
        }
        engine.execute(&mut client, &argv(&cmd));
    }
    let prepared: Vec<Vec<Bytes>> = (0..1024)
        .map(|i| {
            let (lon, lat) = rng.point();
            let member = format!("m{}", (i * 7919) % POINTS);
            let cmd: Vec<String> = match what.as_str() {
                "geosearch" => {
                    ["GEOSEARCH", "pts", "FROMLONLAT", &lon, &lat, "BYRADIUS", "10", "km"]
                        .map(String::from)
                        .to_vec()
                }
                "geosearch-count" => [
                    "GEOSEARCH",
                    "pts",
                    "FROMMEMBER",
                    &member,
                    "BYRADIUS",
                    "20",
                    "km",
                    "COUNT",
                    "5",
                    "WITHDIST",
                ]
                .map(String::from)
                .to_vec(),
                "geosearch-box" => [
                    "GEOSEARCH",
                    "pts",
                    "FROMLONLAT",
                    &lon,
                    &lat,
                    "BYBOX",
                    "20",
                    "10",
                    "km",
                    "ASC",
                    "WITHCOORD",
                ]
                .map(String::from)
                .to_vec(),
                "geoadd" => ["GEOADD", "pts", &lon, &lat, &member].map(String::from).to_vec(),
                "geopos" => ["GEOPOS", "pts", &member].map(String::from).to_vec(),
                "geodist" => ["GEODIST", "pts", "m1", &member, "km"].map(String::from).to_vec(),
                other => panic!("unknown case {other}"),
            };
            argv(&cmd)
        })
        .collect();
    let mut found = 0usize;
    for i in 0..n {
        match engine.execute(&mut client, &prepared[i % prepared.len()]) {
            Reply::Array(items) => found += items.len(),
            Reply::Error(e) => panic!("{e}"),
            _ => found += 1,
        }
    }
    println!("{what}: {n} commands, {found} items in replies");
}
