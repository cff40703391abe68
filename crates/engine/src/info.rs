//! The text of `INFO`.

use std::fmt::Write;

use crate::command::Ctx;

/// Renders the requested `INFO` sections (`default`/`all`/`everything` or names).
pub(crate) fn render(ctx: &Ctx<'_>, sections: &[String]) -> String {
    let want = |name: &str| {
        sections.is_empty()
            || sections
                .iter()
                .any(|s| s == name || s == "all" || s == "default" || s == "everything")
    };
    let info = &ctx.server.info;
    let stats = &ctx.server.stats;
    let mut out = String::new();
    let uptime = ctx.now.saturating_sub(info.start_ms) / 1000;
    if want("server") {
        let _ = write!(
            out,
            "# Server\r\nredis_version:{}\r\nlarder_version:{}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nexecutable:larder\r\n\r\n",
            crate::REDIS_VERSION,
            info.larder_version,
            std::env::consts::OS,
            std::process::id(),
            info.resp_port,
            uptime,
            uptime / 86400,
        );
    }
    if want("clients") {
        let _ = write!(
            out,
            "# Clients\r\nconnected_clients:{}\r\nblocked_clients:{}\r\n\r\n",
            info.connected_clients(),
            ctx.server.blocked_clients
        );
    }
    if want("memory") {
        let _ = write!(
            out,
            "# Memory\r\nused_memory:{}\r\nmaxmemory:{}\r\nmaxmemory_policy:{}\r\n\r\n",
            info.used_memory(),
            info.maxmemory,
            info.maxmemory_policy
        );
    }
    if want("persistence") {
        let aof = ctx.server.aof.as_ref().map(|a| a.info());
        let _ = write!(
            out,
            "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_bgsave_status:ok\r\naof_enabled:{}\r\n",
            stats.dirty,
            aof.is_some() as u8
        );
        let a = aof.unwrap_or_default();
        let ok = |b: bool| if b || ctx.server.aof.is_none() { "ok" } else { "err" };
        let _ = write!(
            out,
            "aof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_last_write_status:{}\r\n",
            a.rewrite_in_progress as u8,
            (ctx.server.rewrite_requested && !a.rewrite_in_progress) as u8,
            a.last_rewrite_time_sec,
            a.current_rewrite_time_sec,
            ok(a.last_bgrewrite_ok),
            a.rewrites,
            ok(a.last_write_ok),
        );
        if ctx.server.aof.is_some() {
            let _ = write!(
                out,
                "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:0\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
                a.current_size, a.base_size, a.buffer_length,
            );
        }
        out.push_str("\r\n");
    }
    if want("stats") {
        let _ = write!(
            out,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\nexpired_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\nrejected_calls:{}\r\ntotal_error_replies:{}\r\n\r\n",
            info.connections_received(),
            stats.commands_processed,
            ctx.db.expired_total,
            stats.keyspace_hits,
            stats.keyspace_misses,
            stats.rejected_calls,
            stats.error_replies,
        );
    }
    if want("replication") {
        out.push_str("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
    }
    if want("keyspace") {
        out.push_str("# Keyspace\r\n");
        if !ctx.db.is_empty() {
            let _ = write!(
                out,
                "db0:keys={},expires={},avg_ttl=0\r\n",
                ctx.db.len(),
                ctx.db.volatile_len()
            );
        }
        out.push_str("\r\n");
    }
    while out.ends_with("\r\n\r\n") {
        out.truncate(out.len() - 2);
    }
    out
}
