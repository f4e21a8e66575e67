//! `p2pctl register`, `login`, `logout`, `whoami`, `passkey rotate`: the tracker account the
//! daemon shares under. A password is read without echo, or from stdin with
//! `--password-stdin`, and is never printed.

use std::fmt;
use std::io::BufRead;

use anyhow::{Context, bail};
use p2p_proto::ipc::{Request, Response};

use super::{print, print_json};
use crate::cli::{AccountArgs, LoginArgs};
use p2p_client::Target;

/// Longest password accepted from stdin; more is a mistake (a file piped in).
const MAX_PASSWORD_BYTES: u64 = 1024;

pub fn register(daemon: &Target, args: &AccountArgs, json: bool) -> anyhow::Result<()> {
    // Find out that no daemon runs before the user types a password for nothing.
    drop(daemon.connect()?);
    let password = read_password(&args.user, args.password_stdin, true)?;
    let reply = daemon.connect()?.request(Request::Register {
        user: args.user.clone(),
        password: password.0,
    })?;
    if json {
        return print_json(&reply);
    }
    print(&format!(
        "registered {0}; log in with `p2pctl login {0}`\n",
        args.user
    ))
}

pub fn login(daemon: &Target, args: &LoginArgs, json: bool) -> anyhow::Result<()> {
    let user = &args.account.user;
    drop(daemon.connect()?);
    let password = read_password(user, args.account.password_stdin, false)?;
    let reply = daemon.connect()?.request(Request::Login {
        user: user.clone(),
        password: password.0,
        force: args.force,
    })?;
    session_reply("login", reply, json)
}

pub fn logout(daemon: &Target, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::Logout)?;
    session_reply("logout", reply, json)
}

pub fn whoami(daemon: &Target, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::Whoami)?;
    session_reply("whoami", reply, json)
}

pub fn rotate_passkey(daemon: &Target, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::PasskeyRotate)?;
    if json {
        return print_json(&reply);
    }
    let r = p2p_client::reply_as!(reply, "passkey rotate", Response::PasskeyRotated)?;
    print(&format!(
        "new passkey for {}; the old one is refused from now on; {} torrents announce with the new one\n",
        r.user, r.torrents
    ))
}

fn session_reply(command: &str, reply: Response, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(&reply);
    }
    let s = p2p_client::reply_as!(reply, command, Response::Session)?;
    print(&match s.logged_in_as {
        Some(user) => format!("logged in as {user}\n"),
        None if command == "logout" => "logged out\n".to_owned(),
        None => "not logged in\n".to_owned(),
    })
}

/// A password: its `Debug` hides it, so no log or panic can print it.
struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

fn read_password(user: &str, from_stdin: bool, confirm: bool) -> anyhow::Result<Password> {
    let password = if from_stdin {
        first_line(std::io::stdin().lock())?
    } else {
        let prompt = |text: String| {
            rpassword::prompt_password(text)
                .context("cannot read a password from the terminal (use --password-stdin)")
        };
        let first = prompt(format!("password for {user}: "))?;
        if confirm && prompt("repeat the password: ".into())? != first {
            bail!("the two passwords differ");
        }
        first
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(Password(password))
}

/// The first line of `input` without its line ending, read with a cap.
fn first_line(input: impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input
        .take(MAX_PASSWORD_BYTES + 1)
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    if line.len() as u64 > MAX_PASSWORD_BYTES {
        bail!("the password on stdin is longer than {MAX_PASSWORD_BYTES} bytes");
    }
    let end = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(end);
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_first_line_of_stdin() {
        assert_eq!(first_line(&b"s3cret\nrest\n"[..]).unwrap(), "s3cret");
        assert_eq!(first_line(&b"s3cret\r\n"[..]).unwrap(), "s3cret");
        assert_eq!(first_line(&b"no newline"[..]).unwrap(), "no newline");
        assert_eq!(first_line(&b""[..]).unwrap(), "");
        let long = vec![b'x'; 5000];
        assert!(first_line(&long[..]).is_err());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = Password("hunter2".into());
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
