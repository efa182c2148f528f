//! `mnemo sync`: send this machine's changes of joined projects to the
//! team server and bring the team's here — one round with `--once`, else
//! until SIGINT, SIGTERM or SIGHUP (`mnemo_app::team::sync_loop`). The
//! signals are held back and looked for between waits, so a round is never cut short
//! by them. An episode-ending hook starts it detached with `--background`
//! ([`start_background`], like the worker): it then prints nothing, stops
//! only on SIGINT (SIGTERM and SIGHUP are held for its life, as Claude Code
//! signals what a hook started) and exits once idle for `[team]
//! idle_exit_secs`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mnemo_app::team::{self, LoopEnd, Round};
use mnemo_platform::signals::{self, Signal};

/// The signals that end `mnemo sync`.
const ENDING_SIGNALS: [Signal; 3] = [Signal::Interrupt, Signal::Terminate, Signal::Hangup];
/// The signal that ends a background `mnemo sync`.
const ENDING_BACKGROUND: [Signal; 1] = [Signal::Interrupt];

/// Start `mnemo sync --background`, detached like the worker.
pub fn start_background(home: &Path) {
    super::worker::start_detached(home, "sync");
}

pub fn run(once: bool, json: bool, background: bool) -> anyhow::Result<()> {
    let parts = super::parts()?;
    if once {
        let round = team::sync_round(&parts)?;
        print_round(&round, json)?;
        return Ok(());
    }
    signals::hold(&ENDING_SIGNALS)?;
    let ending: &[Signal] = if background {
        &ENDING_BACKGROUND
    } else {
        &ENDING_SIGNALS
    };
    let stop = AtomicBool::new(false);
    let idle_exit =
        background.then(|| Duration::from_secs(parts.config.team.idle_exit_secs.max(1)));
    let end = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                if signals::pending(ending) {
                    stop.store(true, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let end = team::sync_loop(&parts, &stop, idle_exit, |result| {
            if background {
                return;
            }
            match result {
                Ok(round) if round.moved() => {
                    // A closed stdout must not stop the sync.
                    let _ = print_round(round, json);
                }
                Ok(_) => {}
                Err(err) => eprintln!("mnemo: {err:#}"),
            }
        });
        stop.store(true, Ordering::Relaxed);
        end
    })?;
    if end == LoopEnd::AlreadyRunning && !background {
        println!(
            "a sync is already running for {}",
            parts.paths.home.display()
        );
    }
    Ok(())
}

fn print_round(round: &Round, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(round)?);
    } else {
        println!(
            "pushed {}, pulled {} ({} applied, {} kept local)",
            round.pushed, round.pulled, round.applied, round.kept_local
        );
    }
    Ok(())
}
