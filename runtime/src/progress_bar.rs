//! A terminal progress bar for exports and bulk batches (feature `indicatif`): see
//! [`progress_bar`].

use indicatif::{ProgressBar, ProgressStyle};

use crate::list::Progress;

/// The style of the bar once the total is known: bar, counts, percentage, time left.
const WITH_TOTAL: &str = "{bar:40} {human_pos}/{human_len} ({percent}%) {msg}, {eta} left";
/// The style before: a spinner and the count.
const WITHOUT_TOTAL: &str = "{spinner} {human_pos} {msg}";

/// Turns an [`indicatif::ProgressBar`] into the callback of
/// [`ListQuery::on_progress`](crate::ListQuery::on_progress) or
/// [`Batch::on_progress`](crate::Batch::on_progress): the bar's position follows the rows (or
/// commands) done, its length the total once the portal has told it, and its message shows
/// the requests made and the rate.
///
/// ```no_run
/// # #[bitrix_runtime::bitrix_entity(schema = "../schemas/demo/deal.json")]
/// # pub struct Deal;
/// # async fn export(client: bitrix_runtime::Client) -> Result<(), bitrix_runtime::Error> {
/// use futures::TryStreamExt;
///
/// let bar = indicatif::ProgressBar::new_spinner();
/// let deals: Vec<Deal> = client
///     .list::<Deal>()
///     .with_total()
///     .on_progress(bitrix_runtime::progress_bar(bar.clone()))
///     .stream()
///     .try_collect()
///     .await?;
/// bar.finish();
/// # Ok(()) }
/// ```
///
/// The bar draws wherever indicatif draws (stderr by default) and hides itself when that is not
/// a terminal, so a program that logs to a file keeps a clean log. A style given to the bar is
/// replaced by this one on the first report.
pub fn progress_bar(bar: ProgressBar) -> impl Fn(Progress) + Send + Sync + 'static {
    let with_total =
        ProgressStyle::with_template(WITH_TOTAL).unwrap_or_else(|_| ProgressStyle::default_bar());
    let without_total = ProgressStyle::with_template(WITHOUT_TOTAL)
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    move |p: Progress| {
        match p.total {
            Some(total) if bar.length() != Some(total) => {
                bar.set_style(with_total.clone());
                bar.set_length(total);
            }
            None if bar.length().is_none() || bar.position() == 0 => {
                bar.set_style(without_total.clone());
            }
            _ => {}
        }
        bar.set_position(p.rows);
        let rate = p.rate().map_or(String::new(), |r| format!(", {r:.0}/s"));
        bar.set_message(format!("{} requests{rate}", p.requests));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn report(rows: u64, total: Option<u64>, requests: u64) -> Progress {
        Progress {
            rows,
            total,
            requests,
            elapsed: Duration::from_secs(2),
        }
    }

    #[test]
    fn the_bar_follows_rows_and_learns_the_total() {
        let bar = ProgressBar::hidden();
        let hook = progress_bar(bar.clone());
        hook(report(50, None, 1));
        assert_eq!(bar.position(), 50);
        assert_eq!(bar.length(), None);
        hook(report(2_500, Some(10_000), 2));
        assert_eq!((bar.position(), bar.length()), (2_500, Some(10_000)));
        assert_eq!(bar.message(), "2 requests, 1250/s");
        hook(report(10_000, Some(10_000), 5));
        assert_eq!(bar.position(), 10_000);
    }
}
