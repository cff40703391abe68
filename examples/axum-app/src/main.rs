//! `cargo run -p larder-example-axum-app` with larder's environment block exported (see README.md).

use std::net::SocketAddr;

use larder_example_axum_app::{Config, app};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, as printed by larder on start.
    let redis = larder_redis::Redis::from_env()?;
    let config = Config::from_env()?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!("  POST /generate              rate-limited per client IP");
    println!("  GET  /reports/top-products  a slow query, cached");
    let app = app(redis, config).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
