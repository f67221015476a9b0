use super::*;

fn source(repo: &str) -> ModelSource {
    ModelSource {
        hub: "http://127.0.0.1:8080/hub".into(),
        repo: repo.into(),
        revision: "v1.0".into(),
    }
}

/// A state in which every piece differs from the default.
fn everything() -> Link {
    Link {
        model: Some(source("sentence-transformers/all-MiniLM-L6-v2")),
        hub: "http://127.0.0.1:8080/hub".into(),
        text: "The cat & the \"dog\" = 2 + 2 % <b>100</b> 🐈 مرحبا".into(),
        pair: Some("A second sentence?".into()),
        view: ViewKind::Focus,
        layer: 3,
        head: 7,
        heads: Some(vec![0, 2, 5]),
        token: Some(4),
        focus: vec![2, 3],
        target: vec![6],
        options: ViewOptions {
            hide_special: true,
            merge_words: true,
        },
        strongest: Strongest::MinWeight(0.15),
        pair_filter: PairFilter::AToB,
        source: SourceKind::Rollout,
        scale: ScaleMode::Unit,
        theme: Some(Theme::Dark),
        compare: CompareMode::Models,
        text_b: Some("Another text".into()),
        model_b: Some("attention-viz/minilm-bank-finetuned".into()),
        embed: true,
        click_to_load: true,
    }
}

#[test]
fn the_default_link_is_empty_and_reads_back_as_the_default() {
    assert_eq!(Link::default().to_query(), "");
    let (link, notes) = Link::from_query("");
    assert_eq!(link, Link::default());
    assert!(notes.is_empty());
    let (link, notes) = Link::from_query("?");
    assert_eq!((link, notes.len()), (Link::default(), 0));
}

#[test]
fn every_piece_of_state_round_trips_alone_and_together() {
    let all = everything();
    let (back, notes) = Link::from_query(&all.to_query());
    assert_eq!(notes, Vec::<String>::new());
    assert_eq!(back, all);
    // One piece at a time: each is written and read back on its own.
    let d = Link::default();
    let singles: Vec<(&str, Link)> = vec![
        (
            "model",
            Link {
                model: Some(ModelSource {
                    hub: DEFAULT_HUB.into(),
                    repo: "a/b".into(),
                    revision: "main".into(),
                }),
                ..d.clone()
            },
        ),
        (
            "hub",
            Link {
                hub: "https://mirror.example/models".into(),
                ..d.clone()
            },
        ),
        (
            "text",
            Link {
                text: "x y z".into(),
                ..d.clone()
            },
        ),
        (
            "pair",
            Link {
                pair: Some("b".into()),
                ..d.clone()
            },
        ),
        (
            "view",
            Link {
                view: ViewKind::Heads,
                ..d.clone()
            },
        ),
        (
            "layer",
            Link {
                layer: 5,
                ..d.clone()
            },
        ),
        (
            "head",
            Link {
                head: 11,
                ..d.clone()
            },
        ),
        (
            "heads",
            Link {
                heads: Some(vec![1]),
                ..d.clone()
            },
        ),
        (
            "token",
            Link {
                token: Some(0),
                ..d.clone()
            },
        ),
        (
            "focus",
            Link {
                focus: vec![1, 9],
                ..d.clone()
            },
        ),
        (
            "target",
            Link {
                target: vec![3],
                ..d.clone()
            },
        ),
        (
            "hide",
            Link {
                options: ViewOptions {
                    hide_special: true,
                    merge_words: false,
                },
                ..d.clone()
            },
        ),
        (
            "merge",
            Link {
                options: ViewOptions {
                    hide_special: false,
                    merge_words: true,
                },
                ..d.clone()
            },
        ),
        (
            "show",
            Link {
                strongest: Strongest::TopK(3),
                ..d.clone()
            },
        ),
        (
            "pairs",
            Link {
                pair_filter: PairFilter::BToA,
                ..d.clone()
            },
        ),
        (
            "source",
            Link {
                source: SourceKind::Flow,
                ..d.clone()
            },
        ),
        (
            "scale",
            Link {
                scale: ScaleMode::Unit,
                ..d.clone()
            },
        ),
        (
            "theme",
            Link {
                theme: Some(Theme::Light),
                ..d.clone()
            },
        ),
        (
            "compare",
            Link {
                compare: CompareMode::Models,
                ..d.clone()
            },
        ),
        (
            "text2",
            Link {
                text_b: Some("other".into()),
                ..d.clone()
            },
        ),
        (
            "model2",
            Link {
                model_b: Some("x/y".into()),
                ..d.clone()
            },
        ),
        (
            "embed",
            Link {
                embed: true,
                ..d.clone()
            },
        ),
        (
            "load",
            Link {
                click_to_load: true,
                ..d.clone()
            },
        ),
    ];
    for (key, link) in singles {
        let q = link.to_query();
        assert!(q.starts_with(&format!("{key}=")), "{key}: {q}");
        let (back, notes) = Link::from_query(&q);
        assert!(notes.is_empty(), "{key}: {notes:?}");
        assert_eq!(back, link, "{key}");
    }
}

#[test]
fn bad_values_fall_back_to_defaults_with_a_note_each() {
    let cases = [
        ("view=sideways", "view"),
        ("layer=abc", "layer"),
        ("layer=-1", "layer"),
        ("head=99999999999999999999", "head"),
        ("layer=1000001", "layer"),
        ("heads=1,x", "heads"),
        ("focus=;", "focus"),
        ("hide=yes", "hide"),
        ("show=top:0", "show"),
        ("show=min:2", "show"),
        ("show=min:NaN", "show"),
        ("show=most", "show"),
        ("pairs=cc", "pairs"),
        ("source=everything", "source"),
        ("scale=log", "scale"),
        ("theme=neon", "theme"),
        ("compare=both", "compare"),
        ("load=eager", "load"),
        ("hub=javascript:alert(1)", "hub"),
        ("model=../../etc/passwd", "model"),
        ("model=a/b&revision=../../x", "revision"),
        ("model2=a b", "model2"),
    ];
    for (q, key) in cases {
        let (link, notes) = Link::from_query(q);
        assert_eq!(notes.len(), 1, "{q}: {notes:?}");
        assert!(
            notes[0].starts_with(&format!("Ignored {key}=")),
            "{q}: {}",
            notes[0]
        );
        let mut expected = Link::default();
        if key == "revision" {
            expected.model = Some(ModelSource {
                hub: DEFAULT_HUB.into(),
                repo: "a/b".into(),
                revision: "main".into(),
            });
        }
        assert_eq!(link, expected, "{q}");
    }
    // A long hostile value is quoted shortened, as text.
    let (_, notes) = Link::from_query(&format!("view={}", "<script>".repeat(20)));
    assert!(
        notes[0].chars().count() < 140
            && !notes[0].contains(&"<script>".repeat(9))
            && notes[0].contains("<script>"),
        "{}",
        notes[0]
    );
    // Unknown parameters are named (a typo like `layr=3` should not pass silently).
    let (link, notes) = Link::from_query("layr=3&layer=2&x=1&x=2");
    assert_eq!(link.layer, 2);
    assert_eq!(
        notes,
        vec!["Ignored layr, x: not a setting of this page.".to_string()]
    );
    // Several bad values: several notes, the good ones kept.
    let (link, notes) = Link::from_query("layer=2&view=x&head=y&text=ok");
    assert_eq!((link.layer, link.text.as_str(), notes.len()), (2, "ok", 2));
}

#[test]
fn hubs_must_be_plain_http_addresses() {
    for bad in [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,hi",
        "/relative/path",
        "//evil.example",
        "ftp://host/x",
        "https://",
        "https://huggingface.co@evil.example",
        "https://host/x?y=1",
        "https://host/a b",
        "https://host/<x>",
        "http://host\\evil",
    ] {
        assert!(check_hub(bad).is_err(), "{bad} accepted");
    }
    assert_eq!(
        check_hub(" https://mirror.example/models/ ").as_deref(),
        Ok("https://mirror.example/models")
    );
    assert_eq!(
        check_hub("http://127.0.0.1:8080/hub").as_deref(),
        Ok("http://127.0.0.1:8080/hub")
    );
    assert_eq!(
        host_of("https://mirror.example:8443/models"),
        "mirror.example:8443"
    );
    assert_eq!(
        origin_of("http://127.0.0.1:8080/hub"),
        "http://127.0.0.1:8080"
    );
    assert_eq!(origin_of("nonsense"), "");
}

#[test]
fn model_ids_and_revisions_are_checked() {
    for ok in [
        "bert-base-uncased",
        "google-bert/bert-base-uncased",
        "a_b/c.d-e",
        "x/y.v2",
    ] {
        assert_eq!(check_repo(ok).as_deref(), Ok(ok));
    }
    for bad in [
        "",
        "/",
        "a/",
        "/a",
        "a/b/c",
        "../x",
        "a/..",
        "a/.hidden",
        "-x",
        "a b",
        "a%2Fb",
        "é/b",
        &"x".repeat(97),
    ] {
        assert!(check_repo(bad).is_err(), "{bad:?} accepted");
    }
    for ok in [
        "main",
        "v1.0",
        "refs/pr/1",
        "0123456789abcdef0123456789abcdef01234567",
    ] {
        assert_eq!(check_revision(ok).as_deref(), Ok(ok));
    }
    for bad in [
        "../x",
        "/main",
        "a//b",
        "a b",
        "x?y",
        ".git",
        &"r".repeat(101),
    ] {
        assert!(check_revision(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn query_coding_matches_url_search_params() {
    // What URLSearchParams produces and accepts: + and %20 are spaces, %-escapes are UTF-8.
    let pairs = parse_query("?text=a+b%20c%C3%A9%F0%9F%90%88&x=%zz%&=v&flag&y=1%3D2");
    assert_eq!(
        pairs,
        vec![
            ("text".into(), "a b cé🐈".into()),
            ("x".into(), "%zz%".into()),
            ("".into(), "v".into()),
            ("flag".into(), "".into()),
            ("y".into(), "1=2".into())
        ]
    );
    assert_eq!(
        encode_component("a b&c=d/é+%"),
        "a%20b%26c%3Dd%2F%C3%A9%2B%25"
    );
    assert_eq!(
        parse_query("a=%FF")[0].1,
        "\u{FFFD}",
        "invalid UTF-8 is replaced, not a panic"
    );
    // The last of repeated keys wins (a link edited by appending).
    let (link, _) = Link::from_query("layer=1&layer=4");
    assert_eq!(link.layer, 4);
    // `embed` alone turns it on.
    assert!(Link::from_query("embed").0.embed);
}

#[test]
fn a_link_sets_the_selection_and_the_model_checks_it() {
    let (link, _) =
        Link::from_query("layer=40&head=3&heads=1,3,20&token=30&focus=2,50&target=7&view=head");
    let mut s = link.selection();
    assert_eq!(
        s.linked_heads(),
        Some(vec![1, 3, 20]),
        "before the model is known, the link's heads stay as they are"
    );
    let notes = s.fit_model(6, 12);
    assert_eq!((s.layer, s.head), (5, 3));
    assert_eq!(s.active_heads(), vec![1, 3]);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].contains("Layer 40") && notes[0].contains("6 layers"),
        "{}",
        notes[0]
    );
    assert!(notes[1].contains("20"), "{}", notes[1]);
    // A second model keeps the set when the head count is the same, and says nothing.
    assert!(s.fit_model(6, 12).is_empty());
    assert_eq!(s.active_heads(), vec![1, 3]);
    let notes = s.fit_run(12);
    assert_eq!(
        (s.token, s.focus.clone(), s.target.clone()),
        (None, vec![2], vec![7])
    );
    assert_eq!(
        notes,
        vec!["Token(s) 30, 50 do not exist: this text has 12 tokens (0–11).".to_string()]
    );
    // Heads all out of range: all shown.
    let mut s = Link::from_query("heads=40").0.selection();
    s.fit_model(2, 4);
    assert_eq!(s.active_heads(), vec![0, 1, 2, 3]);
    // And back into a link.
    let mut l = Link::default();
    let mut s = Selection::default();
    s.fit_model(6, 4);
    l.set_selection(&s);
    assert_eq!(l.heads, None, "all heads: nothing in the link");
    s.toggle_head(2);
    l.set_selection(&s);
    assert_eq!(l.heads, Some(vec![0, 1, 3]));
}

#[test]
fn embed_links_and_code() {
    let l = everything().full_app();
    assert!(!l.embed && !l.click_to_load);
    let e = l.embedded(true);
    assert!(e.embed && e.click_to_load && e.text == l.text);
    let code = embed_code(
        "https://x.example/app/?text=a&b=\"c\"<",
        640,
        480,
        "Attention: \"bank\"",
    );
    assert!(
        code.starts_with("<iframe src=\"https://x.example/app/?text=a&amp;b=&quot;c&quot;&lt;\""),
        "{code}"
    );
    assert!(
        code.contains("width=\"640\" height=\"480\"")
            && code.contains("sandbox=\"allow-scripts allow-same-origin")
    );
    assert!(code.contains("title=\"Attention: &quot;bank&quot;\""));
}
