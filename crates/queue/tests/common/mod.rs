//! A `QueueStore` over the real engine, for the queue's tests.

use std::sync::Arc;

use bytes::Bytes;
use larder_engine::{ClientState, Engine, ServerInfo, SystemClock};
use larder_queue::store::{BoxFuture, QueueStore, Script, StoreError};
use larder_resp::Reply;
use parking_lot::Mutex;

pub struct EngineStore {
    engine: Mutex<(Engine, ClientState)>,
}

impl EngineStore {
    pub fn new() -> EngineStore {
        let engine = Engine::new(Arc::new(SystemClock), ServerInfo::default());
        let client = engine.new_client("test".into());
        EngineStore { engine: Mutex::new((engine, client)) }
    }

    pub fn run(&self, argv: &[Bytes]) -> Reply {
        let mut g = self.engine.lock();
        let (engine, client) = &mut *g;
        engine.execute(client, argv)
    }
}

impl QueueStore for EngineStore {
    fn eval<'a>(
        &'a self,
        script: &'a Script,
        keys: Vec<Bytes>,
        args: Vec<Bytes>,
    ) -> BoxFuture<'a, Result<Reply, StoreError>> {
        Box::pin(async move {
            let mut argv = script.evalsha_argv(keys, args);
            let r = self.run(&argv);
            if script.fall_back_to_eval(&mut argv, &r) {
                return Ok(self.run(&argv));
            }
            Ok(r)
        })
    }

    fn pipeline(&self, cmds: Vec<Vec<Bytes>>) -> BoxFuture<'_, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move { Ok(cmds.iter().map(|c| self.run(c)).collect()) })
    }
}
