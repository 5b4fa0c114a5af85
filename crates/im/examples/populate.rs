//! Fills a database with many 1-VM Dummy infrastructures for the scale
//! benchmark (`scripts/bench-scale`): the same rows `POST /infrastructures`
//! writes, made through the manager without HTTP so 100,000 take a minute,
//! not an hour.
//!
//! ```text
//! cargo run --release -p im --example populate -- DB_URL TOTAL OWNED USERNAME
//! ```
//! `OWNED` of the `TOTAL` belong to `USERNAME` (password `p`); the others to
//! users `other-0` … `other-99`.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use im_core::{Deployment, Manager, Settings};

/// The 1-VM Dummy infrastructure of `../shared/peer/bench.py`.
const RADL: &str = include_str!("dummy-1vm.radl");

fn auth(user: &str) -> anyhow::Result<im_auth::AuthData> {
    let header = format!(
        "id = im; type = InfrastructureManager; username = {user}; password = p\\nid = d; type = Dummy"
    );
    Ok(im_auth::parse_auth_header(&header)?.into_auth_data(None)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, total, owned, user] = args.as_slice() else {
        bail!("usage: populate DB_URL TOTAL OWNED USERNAME");
    };
    let total: usize = total.parse().context("TOTAL")?;
    let owned: usize = owned.parse().context("OWNED")?;
    let store = im_store::open(url).await?;
    let manager = Manager::start(Settings::default(), store, im_connectors::Factory::new()).await?;
    let radl = im_radl::parse_radl(RADL)?;
    let mine = Arc::new(auth(user)?);
    let others: Arc<Vec<_>> = Arc::new(
        (0..100)
            .map(|i| auth(&format!("other-{i}")))
            .collect::<Result<_, _>>()?,
    );
    let start = Instant::now();
    // Spread owned ones evenly so the user's infrastructures are not one block.
    let workers = 64;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (manager, radl, mine, others) =
            (manager.clone(), radl.clone(), mine.clone(), others.clone());
        tasks.spawn(async move {
            let mut i = w;
            while i < total {
                let auth = if i * owned / total != (i + 1) * owned / total {
                    &*mine
                } else {
                    &others[i % others.len()]
                };
                manager
                    .create_infrastructure(Deployment::radl(radl.clone()), auth, false)
                    .await?;
                i += workers;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    manager.shutdown().await;
    eprintln!(
        "populated {total} infrastructures ({owned} of {user}) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
