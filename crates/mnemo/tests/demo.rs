//! `mnemo demo`: the seed story through the real hooks, in its own
//! throwaway data directory.

use crate::common;

use common::*;

#[test]
fn the_demo_tells_the_whole_story_and_cleans_up() {
    let env = Env::new();
    // Run from inside a repository, as the README's first command is.
    let repo = env.tmp.path().join("somewhere-else");
    std::fs::create_dir(&repo).unwrap();
    git_init(&repo);
    let out = env.command(&["demo"]).current_dir(&repo).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // Session 1 went through the hooks and became typed memories.
    assert!(text.contains("32 hook events recorded"), "{text}");
    assert!(
        text.contains(
            "bugfix   Running it with -5 crashes with a giant traceback — fibonacci() raises ValueError for negative n"
        ),
        "{text}"
    );
    // Session 2's SessionStart index and the recall for the question.
    let (_, asked) = text.split_once("▌ You ask").expect("the question");
    let (recall, search) = asked.split_once("▌ mnemo search").expect("the search");
    assert!(
        recall.contains("RecursionError") && recall.contains("ValueError"),
        "{recall}"
    );
    assert!(
        search.contains("fibonacci() raises ValueError for negative n"),
        "{search}"
    );
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");
    // The user's own data directory was not touched.
    assert!(!env.home.join("mnemo.db").exists());

    // --keep leaves the demo's directory, with its database, and says where.
    let out = env.command(&["demo", "--keep"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let kept = text
        .lines()
        .find_map(|l| l.strip_prefix("The demo's data is kept in "))
        .and_then(|l| l.strip_suffix('.'))
        .expect("the kept directory");
    let kept = std::path::Path::new(kept);
    assert!(kept.join("mnemo.db").exists());
    std::fs::remove_dir_all(kept).unwrap();
}
