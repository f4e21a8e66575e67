//! The rules over `stat` results of other users' files: the test runs as
//! one user, the rules are about many.

use super::*;

const DAEMON: u32 = 998;
const ALICE: u32 = 1000;
const BOB: u32 = 1001;
const STAFF: u32 = 50;

fn alice() -> Peer {
    Peer {
        uid: ALICE,
        gids: vec![ALICE, STAFF],
    }
}

fn policy(folders: &[&str], only_folders: bool) -> Policy {
    Policy {
        daemon_uid: DAEMON,
        folders: folders.iter().map(PathBuf::from).collect(),
        only_folders,
    }
}

fn dir(uid: u32, gid: u32, perm: u32) -> Node {
    Node {
        uid,
        gid,
        mode: 0o040000 | perm,
    }
}

fn file(uid: u32, gid: u32, perm: u32) -> Node {
    Node {
        uid,
        gid,
        mode: 0o100000 | perm,
    }
}

/// `/`, `/home`, `/home/bob` with the given mode for bob's home.
fn bobs_home(perm: u32) -> Vec<(PathBuf, Node)> {
    vec![
        ("/".into(), dir(0, 0, 0o755)),
        ("/home".into(), dir(0, 0, 0o755)),
        ("/home/bob".into(), dir(BOB, BOB, perm)),
    ]
}

fn decide_for(
    p: &Policy,
    peer: &Peer,
    path: &str,
    above: &[(PathBuf, Node)],
    target: Node,
    want: Want,
) -> Result<(), Denied> {
    decide(p, peer, Path::new(path), above, target, want)
}

#[test]
fn a_client_is_refused_a_file_it_cannot_read_with_the_path_named() {
    let e = decide_for(
        &policy(&[], false),
        &alice(),
        "/home/bob/secret.txt",
        &bobs_home(0o755),
        file(BOB, BOB, 0o600),
        Want::Read,
    )
    .unwrap_err();
    assert_eq!(
        IpcError::from(e.clone()).code,
        ErrorCode::Forbidden,
        "refusals are Forbidden"
    );
    assert_eq!(
        e.to_string(),
        "/home/bob/secret.txt is not yours to use: uid 1000 lacks read (r) permission on /home/bob/secret.txt (owner uid 1001, group 1001, mode 0600); p2pd acts only on paths its clients could use themselves, or under its client_folders"
    );
}

#[test]
fn a_readable_file_in_a_folder_the_client_cannot_enter_is_refused_naming_the_folder() {
    let e = decide_for(
        &policy(&[], false),
        &alice(),
        "/home/bob/notes.txt",
        &bobs_home(0o700),
        file(BOB, BOB, 0o644),
        Want::Read,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("lacks search (x) permission on /home/bob (owner uid 1001"),
        "{e}"
    );
}

#[test]
fn files_readable_by_others_by_a_group_of_the_client_or_owned_by_it_are_allowed() {
    let p = policy(&[], false);
    for target in [
        file(BOB, BOB, 0o644),
        file(BOB, STAFF, 0o640),
        file(ALICE, ALICE, 0o400),
    ] {
        let r = decide_for(
            &p,
            &alice(),
            "/home/bob/f",
            &bobs_home(0o755),
            target,
            Want::Read,
        );
        assert_eq!(r, Ok(()), "{target:?}");
    }
}

#[test]
fn an_owner_without_read_bits_is_refused_even_when_others_may_read() {
    let r = decide_for(
        &policy(&[], false),
        &alice(),
        "/home/bob/f",
        &bobs_home(0o755),
        file(ALICE, ALICE, 0o044),
        Want::Read,
    );
    assert!(matches!(r, Err(Denied::NoRight { .. })), "{r:?}");
}

#[test]
fn a_folder_to_share_needs_read_and_search_and_a_download_folder_write_and_search() {
    let p = policy(&[], false);
    let above = bobs_home(0o755);
    let listable_only = dir(BOB, BOB, 0o744);
    let r = decide_for(
        &p,
        &alice(),
        "/home/bob/d",
        &above,
        listable_only,
        Want::Read,
    );
    assert!(r.unwrap_err().to_string().contains("read and search (rx)"));
    let shared_dir = dir(BOB, STAFF, 0o775);
    assert_eq!(
        decide_for(&p, &alice(), "/home/bob/d", &above, shared_dir, Want::Write),
        Ok(())
    );
    let readonly = dir(BOB, STAFF, 0o755);
    let e = decide_for(
        &p,
        &alice(),
        "/home/bob/d/new",
        &above,
        readonly,
        Want::Write,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("/home/bob/d/new is not yours to use"), "{e}");
    assert!(e.contains("write and search (wx)"), "{e}");
}

#[test]
fn the_daemons_own_user_and_root_keep_full_rights() {
    let p = policy(&[], false);
    for uid in [DAEMON, 0] {
        let peer = Peer { uid, gids: vec![] };
        let r = decide_for(
            &p,
            &peer,
            "/home/bob/secret",
            &bobs_home(0o700),
            file(BOB, BOB, 0o600),
            Want::Read,
        );
        assert_eq!(r, Ok(()), "uid {uid}");
    }
}

#[test]
fn anything_under_a_client_folder_is_allowed_whatever_the_modes() {
    let p = policy(&["/srv/incoming"], false);
    let r = decide_for(
        &p,
        &alice(),
        "/srv/incoming/x/film.mkv",
        &[],
        file(DAEMON, DAEMON, 0o600),
        Want::Read,
    );
    assert_eq!(r, Ok(()));
    // A sibling whose name starts the same is not under it.
    let r = decide_for(
        &p,
        &alice(),
        "/srv/incoming-other/f",
        &[],
        file(DAEMON, DAEMON, 0o600),
        Want::Read,
    );
    assert!(matches!(r, Err(Denied::NoRight { .. })), "{r:?}");
}

#[test]
fn with_only_client_folders_everyone_is_held_to_them_the_daemons_user_too() {
    let p = policy(&["/srv/incoming", "/srv/out"], true);
    let daemon = Peer {
        uid: DAEMON,
        gids: vec![],
    };
    let e = decide_for(
        &p,
        &daemon,
        "/etc/shadow",
        &[],
        file(0, 0, 0o640),
        Want::Read,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "/etc/shadow is outside the folders p2pd's clients may use (client_folders: /srv/incoming, /srv/out)"
    );
    let ok = decide_for(
        &p,
        &daemon,
        "/srv/out/a",
        &[],
        dir(DAEMON, DAEMON, 0o700),
        Want::Write,
    );
    assert_eq!(ok, Ok(()));
}

#[test]
fn groups_are_read_from_proc_status_and_unknown_peers_get_no_rights() {
    let status = "Name:\tp2pctl\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 1000 \nNSpid:\t1\n";
    assert_eq!(parse_groups(status), vec![4, 24, 1000]);
    assert_eq!(parse_groups("Name:\tx\n"), Vec::<u32>::new());
    let nobody = peer(None, None, None);
    assert_eq!(nobody.uid, u32::MAX);
    let r = decide_for(
        &policy(&[], false),
        &nobody,
        "/srv/f",
        &[("/".into(), dir(0, 0, 0o755))],
        file(0, 0, 0o640),
        Want::Read,
    );
    assert!(r.is_err());
}

#[test]
fn only_the_daemons_user_and_root_count_as_the_daemons_user() {
    assert!(!is_user_or_root(&alice(), DAEMON));
    for uid in [DAEMON, 0] {
        let peer = Peer {
            uid,
            gids: Vec::new(),
        };
        assert!(is_user_or_root(&peer, DAEMON), "{uid}");
    }
}
