//! The Unix implementation against the real system: permissions, held
//! signals, waiting on a pipe, and killing a child's process group.
#![cfg(unix)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mnemo_platform::{fs, io, process, signals};

#[test]
fn owner_only_files_and_private_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f");
    fs::owner_only(std::fs::OpenOptions::new().create_new(true).write(true))
        .open(&file)
        .unwrap();
    let bits = fs::permission_bits(&std::fs::metadata(&file).unwrap());
    assert_eq!(bits, Some(0o600));

    let dir = tmp.path().join("d");
    fs::dir_mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&dir)
        .unwrap();
    assert!(fs::is_private_dir(&dir));
    fs::set_permission_bits(&dir, 0o755).unwrap();
    assert!(!fs::is_private_dir(&dir), "open to others");
    fs::set_permission_bits(&dir, 0o700).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    assert!(!fs::is_private_dir(&link), "a symlink is not the directory");
    assert!(!fs::is_executable(&std::fs::metadata(&file).unwrap()));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(fs::is_executable(&std::fs::metadata(&file).unwrap()));
}

#[test]
fn a_held_signal_stays_pending() {
    use signals::Signal;
    // On a thread of its own, so the signal cannot reach another thread.
    std::thread::spawn(|| {
        signals::hold(&[Signal::Terminate]).unwrap();
        assert!(!signals::pending(&[Signal::Terminate]));
        // SAFETY: a signal to this thread, which holds it back.
        assert_eq!(
            unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGTERM) },
            0
        );
        assert!(signals::pending(&[Signal::Terminate, Signal::Hangup]));
        assert!(!signals::pending(&[Signal::Hangup]));
    })
    .join()
    .unwrap();
}

#[test]
fn waiting_on_a_pipe_times_out_until_input_comes() {
    let (reader, mut writer) = std::io::pipe().unwrap();
    let started = Instant::now();
    assert!(!io::wait_readable(&reader, Duration::from_millis(100)).unwrap());
    assert!(started.elapsed() >= Duration::from_millis(90));
    writer.write_all(b"x").unwrap();
    assert!(io::wait_readable(&reader, Duration::from_secs(5)).unwrap());
}

#[test]
fn killing_a_child_reaches_what_it_started() {
    let tmp = tempfile::tempdir().unwrap();
    let grandchild_pid = tmp.path().join("pid");
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "sleep 60 & echo $! > {}; wait",
            grandchild_pid.display()
        ))
        .stdin(Stdio::null());
    process::isolate_child(&mut command);
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !grandchild_pid.exists()
        || std::fs::read_to_string(&grandchild_pid)
            .unwrap()
            .trim()
            .is_empty()
    {
        assert!(Instant::now() < deadline, "the child never started its own");
        std::thread::sleep(Duration::from_millis(10));
    }
    let grandchild: libc::pid_t = std::fs::read_to_string(&grandchild_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!process::has_exited(&mut child).unwrap());
    process::kill_tree(&mut child);
    child.wait().unwrap();
    while running(grandchild) {
        assert!(Instant::now() < deadline, "the grandchild survived");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `pid` is a live process (a killed one not yet reaped by its new
/// parent counts as gone).
fn running(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z')));
    exists && !zombie
}
