//! A real MCP client (rmcp's) driving `mnemo mcp` over stdio, as Claude
//! Code does.

use std::process::Stdio;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

use super::Env;

pub type Client = RunningService<RoleClient, ()>;

/// Start `mnemo mcp <args>` in the env's project directory and initialize.
pub async fn connect(env: &Env, args: &[&str]) -> (Client, u32) {
    let mut argv = vec!["mcp"];
    argv.extend(args);
    let mut cmd = env.command(&argv);
    cmd.current_dir(&env.project);
    let (transport, _stderr) = TokioChildProcess::builder(tokio::process::Command::from(cmd))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mnemo mcp");
    let pid = transport.id().expect("pid");
    let client = ().serve(transport).await.expect("initialize");
    (client, pid)
}

pub async fn call(client: &Client, tool: &'static str, args: Value) -> CallToolResult {
    let Value::Object(arguments) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}
