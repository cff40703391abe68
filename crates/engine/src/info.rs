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
        memory_section(ctx, &mut out);
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
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\nrejected_calls:{}\r\ntotal_error_replies:{}\r\n\r\n",
            info.connections_received(),
            stats.commands_processed,
            ctx.db.expired_total,
            stats.evicted_keys,
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

/// `# Memory`: the heap in use (counted by the allocator wrapper, see `memory`), the resident set, the
/// peak, the limit and the policy. Without a counting allocator the heap is unknown and reported as 0.
fn memory_section(ctx: &Ctx<'_>, out: &mut String) {
    use crate::memory::{allocator_name, human, rss};
    let cfg = &ctx.server.info.memory;
    let used = ctx.server.memory.gauge.used(ctx.db);
    let counted = used.is_some();
    let used = used.unwrap_or(0);
    let peak = ctx.server.memory.peak.max(used);
    let rss = rss();
    let frag = if used > 0 { rss as f64 / used as f64 } else { 0.0 };
    let _ = write!(
        out,
        "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmaxmemory_samples:{}\r\nmem_fragmentation_ratio:{frag:.2}\r\nmem_allocator:{}{}\r\n\r\n",
        human(used),
        human(rss),
        human(peak),
        cfg.maxmemory,
        human(cfg.maxmemory),
        cfg.policy.name(),
        cfg.samples,
        allocator_name(),
        if counted { "" } else { " (not counted: memory limits disabled)" },
    );
}
