//! Light and dark themes: CSS variables for the page, a matching palette for the canvas.

/// Canvas colours (the page's colours live in `style/main.css`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Palette {
    pub background: &'static str,
    pub text: &'static str,
    pub muted: &'static str,
    pub accent: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    pub fn palette(self) -> Palette {
        match self {
            Theme::Light => Palette { background: "#ffffff", text: "#1d232b", muted: "#8a94a3", accent: "#d63384" },
            Theme::Dark => Palette { background: "#161b22", text: "#e6edf3", muted: "#7d8590", accent: "#ff7ab8" },
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
    pub fn toggled(self) -> Self {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Light,
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }
}
