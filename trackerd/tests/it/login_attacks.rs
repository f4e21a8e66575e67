//! Attacks on the login limit (issue 12, items 7 and 8): parallel guesses
//! for one user, a flood of wrong logins from one address while another
//! user logs in, and an attacker trying to lock the owner out. Other client
//! addresses come from binding the client socket to 127.0.0.2 or from a
//! trusted proxy's `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use serde_json::json;

use crate::common::api::*;
use crate::common::{Reply, Request, start};

const ATTACKER: &str = "127.0.0.2";

fn body(name: &str, password: &str) -> Vec<u8> {
    json!({ "username": name, "password": password })
        .to_string()
        .into_bytes()
}

async fn login_from(addr: SocketAddr, ip: &str, name: &str, password: &str) -> Reply {
    let ip: IpAddr = ip.parse().unwrap();
    Request::post("/api/v1/login", &body(name, password))
        .send_from(addr, ip)
        .await
}

/// Sends every request at once from `ip` and waits for all the replies.
async fn flood(addr: SocketAddr, ip: &str, attempts: Vec<(String, String)>) -> Vec<Reply> {
    let tasks: Vec<_> = attempts
        .into_iter()
        .map(|(name, password)| {
            let ip = ip.to_owned();
            tokio::spawn(async move { login_from(addr, &ip, &name, &password).await })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    replies
}

fn count(replies: &[Reply], status: u16) -> usize {
    replies.iter().filter(|r| r.status == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_parallel_guesses_for_one_user_get_at_most_five_checked_and_never_the_password() {
    let s = start(|_| {}).await;
    manual_clock(&s);
    register(s.addr, "alice").await;
    let guesses = (0..60)
        .map(|i| ("alice".to_owned(), format!("wrong guess {i}")))
        .collect();
    let replies = flood(s.addr, ATTACKER, guesses).await;
    let checked = count(&replies, 401);
    let limited = count(&replies, 429);
    println!("60 parallel guesses: {checked} checked (401), {limited} refused (429)");
    assert_eq!(checked + limited, 60, "every guess is 401 or 429");
    assert!((1..=5).contains(&checked), "{checked} guesses were checked");
    for r in replies.iter().filter(|r| r.status == 429) {
        assert_eq!(error(r).0, "rate_limited");
        let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
    }
    // Whatever the flood left over of the five, the attacker spends now.
    let mut more = 0;
    loop {
        let r = login_from(s.addr, ATTACKER, "alice", "one more wrong").await;
        if r.status == 429 {
            break;
        }
        assert_eq!(r.status, 401);
        more += 1;
        assert!(checked + more <= 5, "more than five guesses were checked");
    }
    let right = login_from(s.addr, ATTACKER, "alice", PASSWORD).await;
    assert_eq!(right.status, 429, "the right password is not even checked");
    assert!(
        error(&right)
            .1
            .contains("too many failed logins for 127.0.0.2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_wrong_logins_from_one_address_does_not_keep_another_user_out() {
    let s = start(|_| {}).await;
    register(s.addr, "bob").await;
    let guesses = (0..200)
        .map(|i| (format!("user{i}"), "wrong password".to_owned()))
        .collect();
    let addr = s.addr;
    let attack = tokio::spawn(async move { flood(addr, ATTACKER, guesses).await });
    let started = Instant::now();
    let bob = login_from(s.addr, "127.0.0.1", "bob", PASSWORD).await;
    let latency = started.elapsed();
    let replies = attack.await.unwrap();
    println!(
        "bob's login during a flood of 200 from one address: {latency:?} \
         ({} of the flood checked, {} refused at once)",
        count(&replies, 401),
        count(&replies, 429)
    );
    assert_eq!(bob.status, 200, "{}", bob.text());
    assert!(count(&replies, 401) <= 5, "the address had five failures");
    assert_eq!(count(&replies, 401) + count(&replies, 429), 200);
}

#[tokio::test]
async fn an_attacker_who_exhausts_his_attempts_for_alice_does_not_lock_her_out() {
    let s = start(|_| {}).await;
    manual_clock(&s);
    register(s.addr, "alice").await;
    for _ in 0..5 {
        let r = login_from(s.addr, ATTACKER, "alice", "wrong password").await;
        assert_eq!(r.status, 401);
    }
    let r = login_from(s.addr, ATTACKER, "alice", "wrong password").await;
    assert_eq!(r.status, 429);
    let alice = login_from(s.addr, "127.0.0.1", "alice", PASSWORD).await;
    assert_eq!(alice.status, 200, "{}", alice.text());
}

#[tokio::test]
async fn guesses_from_many_addresses_hit_a_ceiling_that_spares_the_owners_address() {
    let s = start(|c| {
        c.announce.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.accounts.max_login_failures_per_user = 10;
    })
    .await;
    manual_clock(&s);
    register(s.addr, "alice").await;
    let from = |ip: String, password: &'static str| async move {
        Request::post("/api/v1/login", &body("alice", password))
            .header("X-Forwarded-For", &ip)
            .send(s.addr)
            .await
    };
    // Alice logs in from home once (her address becomes known), and out.
    let home = from("198.51.100.7".into(), PASSWORD).await;
    assert_eq!(home.status, 200, "{}", home.text());
    let token = home.json()["token"].as_str().unwrap().to_owned();
    post_json(s.addr, "/api/v1/logout", Some(&token), json!({})).await;
    // Ten addresses guess twice each: the ceiling of ten is reached.
    let mut statuses = Vec::new();
    for i in 0..10 {
        for _ in 0..2 {
            statuses.push(
                from(format!("203.0.113.{i}"), "wrong password")
                    .await
                    .status,
            );
        }
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 401).count(), 10);
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 10);
    let r = from("203.0.113.200".into(), PASSWORD).await;
    assert_eq!(r.status, 429, "a new address is stopped by the ceiling");
    assert!(
        error(&r)
            .1
            .contains("too many failed logins for alice (10 within 3600 s)"),
        "{}",
        r.text()
    );
    let home = from("198.51.100.7".into(), PASSWORD).await;
    assert_eq!(
        home.status,
        200,
        "the owner's address is spared: {}",
        home.text()
    );
}
