//! Tracker client (BEP 3, BEP 12 tiers, BEP 23 compact peers): tries each
//! tier in order and each tracker of a tier in turn, moves a tracker that
//! answered to the front of its tier, and returns the peers it got.

use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::{AnnounceRequest, AnnounceResponse, Event};
use p2p_proto::wire::PeerId;

use super::http::{self, HttpUrl};

/// Time allowed for one announce.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(15);
/// Peers we ask for.
const NUMWANT: u32 = 80;

/// Progress figures sent with an announce.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
}

/// One torrent's trackers.
#[derive(Debug)]
pub struct Announcer {
    tiers: Vec<Vec<String>>,
    info_hash: InfoHash,
    peer_id: [u8; 20],
    port: u16,
    key: Vec<u8>,
    tracker_id: Option<Vec<u8>>,
}

impl Announcer {
    /// Trackers in tiers; each tier is shuffled once, as BEP 12 asks.
    pub fn new(
        tiers: &[Vec<String>],
        info_hash: InfoHash,
        peer_id: [u8; 20],
        port: u16,
    ) -> Announcer {
        let mut tiers: Vec<Vec<String>> = tiers.iter().filter(|t| !t.is_empty()).cloned().collect();
        for tier in &mut tiers {
            for i in (1..tier.len()).rev() {
                let j = rand::random::<u64>() as usize % (i + 1);
                tier.swap(i, j);
            }
        }
        let key = format!("{:08x}", rand::random::<u32>()).into_bytes();
        Announcer {
            tiers,
            info_hash,
            peer_id,
            port,
            key,
            tracker_id: None,
        }
    }

    /// Whether there is any tracker.
    pub fn is_empty(&self) -> bool {
        self.tiers.is_empty()
    }

    /// Announces to the first tracker that answers; the error lists what each said.
    pub async fn announce(
        &mut self,
        event: Event,
        progress: Progress,
    ) -> Result<AnnounceResponse, String> {
        let request = AnnounceRequest {
            info_hash: self.info_hash,
            peer_id: PeerId(self.peer_id),
            port: self.port,
            uploaded: progress.uploaded,
            downloaded: progress.downloaded,
            left: progress.left,
            event,
            compact: true,
            numwant: Some(NUMWANT),
            no_peer_id: true,
            key: Some(self.key.clone()),
            tracker_id: self.tracker_id.clone(),
            ip: None,
        };
        let query = request.to_query_string();
        let mut errors = Vec::new();
        for t in 0..self.tiers.len() {
            for u in 0..self.tiers[t].len() {
                let url = self.tiers[t][u].clone();
                match announce_one(&url, &query).await {
                    Ok(response) => {
                        // BEP 12: a tracker that answered moves to the front of its tier.
                        let tier = &mut self.tiers[t];
                        let winner = tier.remove(u);
                        tier.insert(0, winner);
                        if response.tracker_id.is_some() {
                            self.tracker_id = response.tracker_id.clone();
                        }
                        return Ok(response);
                    }
                    Err(e) => errors.push(format!("{url}: {e}")),
                }
            }
        }
        Err(if errors.is_empty() {
            "no trackers".to_owned()
        } else {
            errors.join("; ")
        })
    }
}

async fn announce_one(url: &str, query: &str) -> Result<AnnounceResponse, String> {
    let mut parsed = HttpUrl::parse(url).map_err(|e| e.to_string())?;
    let sep = if parsed.path_and_query.contains('?') {
        '&'
    } else {
        '?'
    };
    parsed.path_and_query = format!("{}{sep}{query}", parsed.path_and_query);
    let body = http::get(&parsed, ANNOUNCE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    AnnounceResponse::from_bytes(&body).map_err(|e| e.to_string())
}
