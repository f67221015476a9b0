//! The page's domain state as plain types (the Leptos signals hold these).

use crate::attention::Shape;
use crate::catalog::Bundled;
use crate::model::Token;
use crate::protocol::{CachedModel, ModelInfo, ModelSource, MODEL_FILES};

/// A load that failed while the model before it stayed loaded: the model that failed and why.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadFailure {
    pub source: ModelSource,
    pub message: String,
}

impl LoadFailure {
    /// The error box's words: what failed, why, and what is still shown.
    pub fn describe(&self, still: &ModelSource) -> String {
        format!(
            "{} could not be loaded: {} The page still shows {}.",
            self.source.repo,
            self.message.trim_end_matches('.').to_string() + ".",
            still.repo
        )
    }
}

/// Where the model is in its life cycle.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadState {
    /// Nothing asked for yet: a first visit without `model=` waits for the user to pick a model
    /// rather than starting a 440 MB download unasked.
    Idle,
    /// Waiting for the worker to start.
    Starting,
    /// File `index` of the three: `received` of `total` bytes; `stats` for the three together.
    Downloading { file: String, index: usize, received: u64, total: Option<u64>, stats: DownloadStats },
    Parsing,
    Ready(ModelInfo),
    Failed(String),
    /// The user cancelled the download; Retry (or picking a model) starts again.
    Cancelled,
}

impl LoadState {
    pub fn is_loading(&self) -> bool {
        matches!(self, LoadState::Starting | LoadState::Downloading { .. } | LoadState::Parsing)
    }

    /// Fraction of the three files received when their total is known, else of the current file.
    pub fn fraction(&self) -> Option<f64> {
        match self {
            LoadState::Downloading { stats, .. } if stats.fraction().is_some() => stats.fraction(),
            _ => self.file_fraction(),
        }
    }

    /// Fraction of the current file received, when known.
    pub fn file_fraction(&self) -> Option<f64> {
        match self {
            LoadState::Downloading { received, total: Some(t), .. } if *t > 0 => {
                Some((*received as f64 / *t as f64).min(1.0))
            }
            _ => None,
        }
    }

    /// A download that Cancel can stop (parsing cannot be interrupted).
    pub fn can_cancel(&self) -> bool {
        matches!(self, LoadState::Starting | LoadState::Downloading { .. })
    }

    /// One line for the progress area.
    pub fn describe(&self) -> String {
        match self {
            LoadState::Idle => "Choose a model to start".into(),
            LoadState::Starting => "Starting the engine…".into(),
            LoadState::Downloading { file, index, received, total, stats } => {
                let size = match total {
                    Some(t) => format!("{} / {}", megabytes(*received), megabytes(*t)),
                    None => megabytes(*received),
                };
                let verb = if stats.from_cache { "Reading" } else { "Downloading" };
                let place = if stats.from_cache { " from the browser's storage" } else { "" };
                format!("{verb} {file}{place} ({} of {}): {size}", index + 1, MODEL_FILES.len())
            }
            LoadState::Parsing => "Building the model…".into(),
            LoadState::Ready(i) => format!(
                "{} · {}{} layers × {} heads · {} · loaded in {:.1} s",
                i.source.repo,
                if i.family.is_empty() { String::new() } else { format!("{} · ", i.family) },
                i.layers,
                i.heads,
                megabytes(i.weight_bytes),
                i.load_ms / 1e3
            ),
            LoadState::Failed(m) => m.clone(),
            LoadState::Cancelled => "Download cancelled".into(),
        }
    }
}

/// The three files together, while they download (or are read back from the cache).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DownloadStats {
    pub all_received: u64,
    /// Once every file's size is known.
    pub all_total: Option<u64>,
    /// Network speed over the last seconds, once measured.
    pub bytes_per_sec: Option<f64>,
    /// The current file comes from the cache, not the network.
    pub from_cache: bool,
}

impl DownloadStats {
    pub fn fraction(&self) -> Option<f64> {
        self.all_total.filter(|t| *t > 0).map(|t| (self.all_received as f64 / t as f64).min(1.0))
    }

    /// Seconds until the three files are in, at the current speed.
    pub fn seconds_left(&self) -> Option<f64> {
        let rate = self.bytes_per_sec.filter(|r| *r > 1.0)?;
        let left = self.all_total?.saturating_sub(self.all_received);
        Some(left as f64 / rate)
    }

    /// "total 27.4 / 91.3 MB · 8.4 MB/s · about 8 s left" (what is known of it).
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.all_total {
            Some(t) => format!("total {:.1} / {}", self.all_received as f64 / 1e6, megabytes(t)),
            None => format!("total {} so far", megabytes(self.all_received)),
        }];
        if !self.from_cache {
            if let Some(r) = self.bytes_per_sec {
                parts.push(format!("{}/s", megabytes(r.max(0.0) as u64)));
            }
            if let Some(s) = self.seconds_left() {
                parts.push(format!("about {} left", duration_words(s)));
            }
        }
        parts.join(" · ")
    }
}

/// "8 s", "2 min 5 s", "1 h 3 min".
pub fn duration_words(secs: f64) -> String {
    let s = secs.max(0.0).ceil() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// "1.2 GB", "91.3 MB", "612 B".
pub fn size_words(b: u64) -> String {
    match b {
        0..=9_999 => format!("{b} B"),
        10_000..=999_999_999 => megabytes(b),
        _ => format!("{:.2} GB", b as f64 / 1e9),
    }
}

/// The app shell's service worker, as the page sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellState {
    /// Not registered yet.
    Unknown,
    /// No offline use: no service workers here, or registering failed (the reason).
    Unsupported(String),
    /// `trunk serve`: the service worker stays off so that a reload shows the latest build.
    Development,
    /// First visit: the app's files are being saved.
    Installing,
    /// The app's files are saved: the page opens without a network.
    Ready,
    /// A new version is saved and waits for this page to switch to it.
    UpdateReady,
}

impl ShellState {
    /// For `data-state`.
    pub fn name(&self) -> &'static str {
        match self {
            ShellState::Unknown => "unknown",
            ShellState::Unsupported(_) => "unsupported",
            ShellState::Development => "development",
            ShellState::Installing => "installing",
            ShellState::Ready => "ready",
            ShellState::UpdateReady => "update-ready",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ShellState::Unknown => "Checking offline use…".into(),
            ShellState::Unsupported(why) => format!("Offline use is not available: {why}."),
            ShellState::Development => {
                "Offline use is off on the development server (trunk serve), so a reload shows the latest build.".into()
            }
            ShellState::Installing => "Saving the app for offline use…".into(),
            ShellState::Ready => "The app is saved in this browser and opens without a network.".into(),
            ShellState::UpdateReady => "A new version is saved; reload to switch to it.".into(),
        }
    }
}

/// The storage panel's contents: the worker's [`crate::protocol::Response::Storage`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageView {
    pub models: Vec<CachedModel>,
    pub usage: Option<u64>,
    pub quota: Option<u64>,
    pub error: Option<String>,
}

impl StorageView {
    /// "This site uses 91.4 MB of 10.00 GB (9.91 GB free)".
    pub fn describe_quota(&self) -> String {
        match (self.usage, self.quota) {
            (Some(u), Some(q)) => {
                format!("This site uses {} of {} ({} free)", size_words(u), size_words(q), size_words(q.saturating_sub(u)))
            }
            (Some(u), None) => format!("This site uses {}", size_words(u)),
            _ => "The browser does not say how much space is left".into(),
        }
    }

    /// One line per cached model: "all-MiniLM-L6-v2 · 91.3 MB · from 127.0.0.1:8080".
    pub fn label(m: &CachedModel) -> String {
        let host = m
            .source
            .hub
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or(m.source.hub.as_str());
        let revision = if m.source.revision == "main" { String::new() } else { format!(" @ {}", m.source.revision) };
        let mut s = format!("{}{revision} · {} · from {host}", m.source.repo, size_words(m.bytes));
        if !m.is_complete() {
            s.push_str(&format!(" · incomplete ({} of {} files)", m.files.len(), MODEL_FILES.len()));
        }
        s
    }
}

pub fn megabytes(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// The latest run, as the page knows it (the tensor itself stays in the worker).
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub id: u64,
    pub tokens: Vec<Token>,
    pub truncated: bool,
    /// Input tokens the model's position limit cut off.
    pub dropped: usize,
    pub shape: Shape,
    pub ms: f64,
}

/// The most characters one run takes (a paste of a book is refused with a message instead of
/// tying up the engine; the model keeps at most 512 tokens of it anyway).
pub const MAX_INPUT_CHARS: usize = 1_000_000;

/// Why an input cannot run, before it is sent: an empty sentence, or one past
/// [`MAX_INPUT_CHARS`].
pub fn check_input(text: &str, pair: Option<&str>) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("The text is empty: type a sentence to see its attention.".into());
    }
    if pair.is_some_and(|p| p.trim().is_empty()) {
        return Err("The second sentence is empty: type one, or turn the sentence pair off.".into());
    }
    let long = text.chars().count() + pair.map_or(0, |p| p.chars().count());
    if long > MAX_INPUT_CHARS {
        return Err(format!(
            "The text is {long} characters long; the page takes at most {MAX_INPUT_CHARS} (the model reads only its first 512 tokens)."
        ));
    }
    Ok(())
}

/// The source of a bundled model, served by the site itself under `models/`.
pub fn bundled_source(site_models_url: &str, b: &Bundled) -> ModelSource {
    ModelSource { hub: site_models_url.to_string(), repo: b.repo.clone(), revision: b.revision.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked_before_they_run() {
        assert!(check_input("a", None).is_ok() && check_input("a", Some("b")).is_ok());
        assert!(check_input("🐟", None).is_ok(), "one emoji is a text");
        for empty in ["", " ", "\n\t \u{3000}"] {
            assert!(check_input(empty, None).unwrap_err().starts_with("The text is empty"), "{empty:?}");
        }
        assert!(check_input("a", Some("  ")).unwrap_err().starts_with("The second sentence is empty"));
        let book = "x".repeat(MAX_INPUT_CHARS + 1);
        assert!(check_input(&book, None).unwrap_err().contains("1000001 characters"));
    }

    #[test]
    fn load_state_reports_progress() {
        let d = LoadState::Downloading {
            file: "model.safetensors".into(),
            index: 2,
            received: 50_000_000,
            total: Some(200_000_000),
            stats: DownloadStats::default(),
        };
        assert_eq!(d.fraction(), Some(0.25));
        assert_eq!(d.describe(), "Downloading model.safetensors (3 of 3): 50.0 MB / 200.0 MB");
        assert!(d.is_loading());
        let unknown =
            LoadState::Downloading { file: "config.json".into(), index: 0, received: 10, total: None, stats: DownloadStats::default() };
        assert_eq!(unknown.fraction(), None);
        let over = LoadState::Downloading { file: "x".into(), index: 0, received: 12, total: Some(10), stats: DownloadStats::default() };
        assert_eq!(over.fraction(), Some(1.0));
        assert!(!LoadState::Failed("x".into()).is_loading());
        assert!(!LoadState::Idle.is_loading());
    }

    #[test]
    fn download_stats_give_total_speed_and_time_left() {
        let stats = DownloadStats { all_received: 30_000_000, all_total: Some(91_335_235), bytes_per_sec: Some(2e6), from_cache: false };
        let d = LoadState::Downloading { file: "model.safetensors".into(), index: 2, received: 29_000_000, total: Some(90_868_376), stats };
        assert!((d.fraction().unwrap() - 30.0 / 91.335235).abs() < 1e-9, "the bar shows the three files together");
        assert!((d.file_fraction().unwrap() - 29.0 / 90.868376).abs() < 1e-9);
        assert_eq!(stats.seconds_left().map(f64::round), Some(31.0));
        assert_eq!(stats.describe(), "total 30.0 / 91.3 MB · 2.0 MB/s · about 31 s left");
        assert!(d.can_cancel() && LoadState::Starting.can_cancel() && !LoadState::Parsing.can_cancel());
        let measuring = DownloadStats { bytes_per_sec: None, all_total: None, ..stats };
        assert_eq!(measuring.describe(), "total 30.0 MB so far");
        assert_eq!(measuring.seconds_left(), None);
        let cached = DownloadStats { from_cache: true, ..stats };
        assert_eq!(cached.describe(), "total 30.0 / 91.3 MB", "no speed for bytes read from the cache");
        let reading = LoadState::Downloading { file: "config.json".into(), index: 0, received: 612, total: Some(612), stats: cached };
        assert_eq!(reading.describe(), "Reading config.json from the browser's storage (1 of 3): 0.0 MB / 0.0 MB");
        assert_eq!(LoadState::Cancelled.describe(), "Download cancelled");
        assert!(!LoadState::Cancelled.is_loading() && !LoadState::Cancelled.can_cancel());
        assert_eq!(duration_words(0.2), "1 s");
        assert_eq!(duration_words(125.0), "2 min 5 s");
        assert_eq!(duration_words(3780.0), "1 h 3 min");
    }

    #[test]
    fn storage_view_describes_models_and_quota() {
        use crate::protocol::CachedFile;
        let source = ModelSource {
            hub: "http://127.0.0.1:8080/models".into(),
            repo: "sentence-transformers/all-MiniLM-L6-v2".into(),
            revision: "main".into(),
        };
        let files = |n: usize| MODEL_FILES.iter().take(n).map(|f| CachedFile { file: f.to_string(), bytes: 1 }).collect();
        let full = CachedModel { source: source.clone(), files: files(3), bytes: 91_335_235, saved_ms: 0.0 };
        assert_eq!(StorageView::label(&full), "sentence-transformers/all-MiniLM-L6-v2 · 91.3 MB · from 127.0.0.1:8080");
        let partial = CachedModel {
            source: ModelSource { revision: "v2".into(), ..source },
            files: files(2),
            bytes: 466_859,
            saved_ms: 0.0,
        };
        assert_eq!(
            StorageView::label(&partial),
            "sentence-transformers/all-MiniLM-L6-v2 @ v2 · 0.5 MB · from 127.0.0.1:8080 · incomplete (2 of 3 files)"
        );
        let v = StorageView { models: vec![], usage: Some(91_400_000), quota: Some(10_000_000_000), error: None };
        assert_eq!(v.describe_quota(), "This site uses 91.4 MB of 10.00 GB (9.91 GB free)");
        assert_eq!(StorageView::default().describe_quota(), "The browser does not say how much space is left");
        assert_eq!(size_words(612), "612 B");
    }
}
