//! Extraction behaviour on small synthetic texts, with the real ontology: negation, hedges,
//! tables, prices, scripts, English syntax and discovery. The texts are written for these tests
//! (not taken from the seeds) so that they check general rules, not one article.

use std::path::Path;
use std::sync::OnceLock;

use cellkg::extract::{EntityKey, Extraction, Extractor};
use cellkg::model::DocumentInfo;
use cellkg::ontology::Ontology;

fn ontology() -> &'static Ontology {
    static O: OnceLock<Ontology> = OnceLock::new();
    O.get_or_init(|| {
        Ontology::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("ontology"))
            .expect("ontology loads")
    })
}

fn extractor() -> &'static Extractor<'static> {
    static E: OnceLock<Extractor<'static>> = OnceLock::new();
    E.get_or_init(|| Extractor::new(ontology()).expect("extractor builds"))
}

fn run(text: &str) -> Extraction {
    let info = DocumentInfo {
        id: "t".into(),
        path: "t.txt".into(),
        encoding: "UTF-8".into(),
        chars: text.chars().count(),
        sha256: String::new(),
        title: String::new(),
        replaced: 0,
    };
    extractor().extract(info, text)
}

fn key(k: &EntityKey) -> String {
    match k {
        EntityKey::Known(id) => id.to_string(),
        EntityKey::Discovered(d) => format!("{}:{}", d.class, d.name),
    }
}

fn facts(e: &Extraction) -> Vec<(String, String, String)> {
    e.assertions
        .iter()
        .map(|a| (key(&a.subject), a.relation.clone(), key(&a.object)))
        .collect()
}

fn has(e: &Extraction, s: &str, r: &str, o: &str) -> bool {
    facts(e)
        .iter()
        .any(|(a, b, c)| a.contains(s) && b == r && c.contains(o))
}

/// Asserts the fact `s r o` (ends matched by substring of their keys), listing the facts if not.
#[track_caller]
fn assert_has(e: &Extraction, s: &str, r: &str, o: &str) {
    assert!(has(e, s, r, o), "no {s} {r} {o} in {:?}", facts(e));
}

/// Asserts there is no fact `s r o`, listing the facts if there is.
#[track_caller]
fn assert_lacks(e: &Extraction, s: &str, r: &str, o: &str) {
    assert!(!has(e, s, r, o), "unexpected {s} {r} {o} in {:?}", facts(e));
}

fn entities(e: &Extraction) -> Vec<String> {
    e.mentions.iter().map(|m| key(&m.entity)).collect()
}

fn assert_offsets(text: &str, e: &Extraction) {
    let chars: Vec<char> = text.chars().collect();
    for m in &e.mentions {
        let s: String = chars[m.start..m.end].iter().collect();
        assert_eq!(s, m.surface, "mention offsets must slice the original text");
    }
    for a in &e.assertions {
        let s: String = chars[a.start..a.end].iter().collect();
        assert_eq!(s, a.quote, "assertion quote must slice the original text");
    }
}

#[test]
fn negated_coverage_is_a_negative_fact_never_a_positive_one() {
    let text = "截至目前，国内尚无任何 CAR-T 产品被纳入国家医保目录。";
    let e = run(text);
    assert_has(&e, "policy/nrdl", "doesNotCover", "car-t");
    assert_lacks(&e, "policy/nrdl", "covers", "car-t");
    assert!(e
        .assertions
        .iter()
        .filter(|a| a.relation == "doesNotCover")
        .all(|a| a.negated));
    assert_offsets(text, &e);
}

#[test]
fn a_question_or_plan_is_not_asserted() {
    let e = run("业内关心的是 CAR-T 能否纳入国家医保目录。");
    assert!(
        !facts(&e)
            .iter()
            .any(|(_, r, _)| r == "covers" || r == "doesNotCover"),
        "{:?}",
        facts(&e)
    );
}

#[test]
fn positive_coverage_by_a_city_scheme() {
    let text = "今年起，CAR-T 疗法被“沪惠保”纳入特药保障范围。";
    let e = run(text);
    assert_has(&e, "policy/", "covers", "car-t");
    assert_offsets(text, &e);
}

#[test]
fn table_rows_give_targets_indications_developers_and_rates() {
    let text = "产品\t靶点\t适应症\tORR (%)\tCR (%)\n\
                Breyanzi（百时美施贵宝）\tCD19\tDLBCL\t73\t53\n\
                Carvykti（传奇生物）\tBCMA\t多发性骨髓瘤\t97\t67\n";
    let e = run(text);
    assert_has(&e, "breyanzi", "targets", "target/cd19");
    assert_has(&e, "carvykti", "targets", "target/bcma");
    assert_has(&e, "carvykti", "treats", "multiple-myeloma");
    assert_has(&e, "carvykti", "developedBy", "legend");
    let orr: Vec<_> = e.clinical.iter().filter(|c| c.metric == "ORR").collect();
    assert_eq!(orr.len(), 2, "{:?}", e.clinical);
    assert!(orr
        .iter()
        .any(|c| c.value.map(|v| v.to_string()) == Some("97".into())));
    assert_offsets(text, &e);
}

#[test]
fn prices_in_units_with_iso_currency_and_ranges() {
    let e =
        run("在美国，同类 CAR-T 疗法的定价约为 37-47 万美元/次；国内 CAR-T 产品一剂约 120 万元。");
    let usd: Vec<_> = e.prices.iter().filter(|p| p.currency == "USD").collect();
    assert_eq!(usd.len(), 1, "{:?}", e.prices);
    assert_eq!(usd[0].min.map(|v| v.to_string()), Some("370000".into()));
    assert_eq!(usd[0].max.map(|v| v.to_string()), Some("470000".into()));
    assert_eq!(usd[0].unit, "session");
    let cny: Vec<_> = e.prices.iter().filter(|p| p.currency == "CNY").collect();
    assert_eq!(cny.len(), 1, "{:?}", e.prices);
    assert_eq!(
        cny[0].amount.map(|v| v.normalize().to_string()),
        Some("1200000".into())
    );
    assert_eq!(cny[0].unit, "dose");
}

#[test]
fn traditional_script_and_taiwan_currency() {
    let text = "臍帶間充質幹細胞治療膝骨關節炎，每次費用約新台幣 25 萬元。";
    let e = run(text);
    assert!(
        entities(&e).iter().any(|x| x.contains("technology/uc-msc")),
        "{:?}",
        entities(&e)
    );
    assert!(
        entities(&e)
            .iter()
            .any(|x| x.contains("knee-osteoarthritis")),
        "{:?}",
        entities(&e)
    );
    let twd: Vec<_> = e.prices.iter().filter(|p| p.currency == "TWD").collect();
    assert_eq!(twd.len(), 1, "{:?}", e.prices);
    assert_eq!(
        twd[0].amount.map(|v| v.normalize().to_string()),
        Some("250000".into())
    );
    assert_offsets(text, &e);
}

#[test]
fn english_approval_and_development() {
    let text = "The FDA approved Breyanzi, developed by Juno Therapeutics, for the treatment of large B-cell lymphoma in 2021.";
    let e = run(text);
    assert_has(&e, "breyanzi", "approvedBy", "institution/fda");
    assert_has(&e, "breyanzi", "developedBy", "juno");
    let approval = e
        .assertions
        .iter()
        .find(|a| a.relation == "approvedBy")
        .expect("approval");
    assert_eq!(approval.year, Some(2021));
    assert_offsets(text, &e);
}

#[test]
fn taiwan_calendar_years_are_converted() {
    let e = run("衛福部於 112 年核准 Kymriah 上市，用於治療瀰漫性大B細胞淋巴瘤。");
    let approval = e.assertions.iter().find(|a| a.relation == "approvedBy");
    assert!(approval.is_some(), "{:?}", facts(&e));
    assert_eq!(approval.map(|a| a.year), Some(Some(2023)));
}

#[test]
fn discovery_of_unknown_products_targets_and_hospitals() {
    let e = run("靶向 CD70 的新型细胞疗法正在研究中；某生物公司的 XY123 CAR-T 细胞由星河市第一人民医院开展试验，另一款产品名为“瑞泽基奥仑赛注射液”。");
    let found = entities(&e);
    assert!(
        found
            .iter()
            .any(|x| x == "target/cd70" || x == "Target:CD70"),
        "{found:?}"
    );
    assert!(found.iter().any(|x| x.contains("XY123")), "{found:?}");
    assert!(
        found.iter().any(|x| x.contains("星河市第一人民医院")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|x| x.contains("瑞泽基奥仑赛")),
        "{found:?}"
    );
}

#[test]
fn spaces_and_line_breaks_inside_words_do_not_hide_names() {
    let text = "该患者在北京大学人民\n医院接受了 C A R-T 之外的 CAR-T 细胞 疗法。";
    let e = run(text);
    assert!(
        entities(&e).iter().any(|x| x.contains("technology/car-t")),
        "{:?}",
        entities(&e)
    );
    assert_offsets(text, &e);
}

#[test]
fn an_unrelated_passage_yields_no_discovered_institutions() {
    let text =
        "今年手机市场竞争激烈，华星通讯公司和远方科技集团推出了多款新机型，销量同比增长。\n\n\
                该公司表示，明年将在更多城市开设门店。";
    let e = run(text);
    assert!(
        e.mentions
            .iter()
            .all(|m| !matches!(m.entity, EntityKey::Discovered(_))),
        "{:?}",
        entities(&e)
    );
    assert!(e.assertions.is_empty());
}

#[test]
fn joint_development_and_a_described_product_name_their_makers() {
    let text = "复星凯特与药明巨诺联合开发的瑞泽基奥仑赛注射液今日获批。药明巨诺的 CD19 CAR-T 产品倍诺达已上市。";
    let e = run(text);
    for maker in ["fosun-kite", "jw-therapeutics"] {
        assert!(
            has(&e, "瑞泽基奥仑赛", "developedBy", maker),
            "{maker}: {:?}",
            facts(&e)
        );
    }
    assert_has(&e, "carteyva", "developedBy", "jw-therapeutics");
    assert_offsets(text, &e);
}

#[test]
fn a_product_in_brackets_after_a_targeted_technology_takes_its_target() {
    let text = "国内企业推出的 BCMA CAR-T（瑞泽基奥仑赛注射液）进入临床。";
    let e = run(text);
    assert_has(&e, "瑞泽基奥仑赛", "targets", "target/bcma");
    assert_offsets(text, &e);
}

#[test]
fn a_target_before_a_technology_word_is_not_a_fact_about_the_whole_technology() {
    let e = run("以 CD19、BCMA 为靶点的 CAR-T 在血液肿瘤中疗效显著。");
    assert_lacks(&e, "technology/car-t", "targets", "target/");
}

#[test]
fn a_clause_without_subject_continues_the_last_product() {
    let text = "Breyanzi（lisocabtagene maraleucel）是一款自体 CAR-T 产品，2021 年在美国上市，主要用于大 B 细胞淋巴瘤。";
    let e = run(text);
    assert_has(&e, "breyanzi", "treats", "lbcl");
    // Another product in between takes the clause.
    let e = run("Breyanzi 已在美国上市多年，Abecma 随后获批，用于多发性骨髓瘤。");
    assert_lacks(&e, "breyanzi", "treats", "multiple-myeloma");
    assert_has(&e, "abecma", "treats", "multiple-myeloma");
}

#[test]
fn collective_and_plural_negations_are_negative_facts() {
    let text = "Breyanzi 在美国定价约 40 万美元，Abecma 定价约 42 万美元，两者均未纳入国家医保目录。沪惠保和惠民保的特药责任并不涵盖干细胞治疗。";
    let e = run(text);
    for p in ["breyanzi", "abecma"] {
        assert!(
            has(&e, "policy/nrdl", "doesNotCover", p),
            "{p}: {:?}",
            facts(&e)
        );
    }
    for s in ["policy/huhuibao", "policy/huiminbao"] {
        assert!(
            has(&e, s, "doesNotCover", "stem-cell-therapy"),
            "{s}: {:?}",
            facts(&e)
        );
    }
    assert!(
        !facts(&e).iter().any(|(_, r, _)| r == "covers"),
        "{:?}",
        facts(&e)
    );
    assert_offsets(text, &e);
}

#[test]
fn a_regulation_that_opens_a_list_of_techniques_covers_them() {
    let e = run("《星河市细胞治疗技术管理办法》自 2020 年起施行，允许 2 类技术，包括：干细胞治疗及 CAR-T 疗法。");
    assert!(
        has(
            &e,
            "星河市细胞治疗技术管理办法",
            "covers",
            "stem-cell-therapy"
        ),
        "{:?}",
        facts(&e)
    );
    assert!(
        has(
            &e,
            "星河市细胞治疗技术管理办法",
            "covers",
            "technology/car-t"
        ),
        "{:?}",
        facts(&e)
    );
}

#[test]
fn english_press_release_syntax() {
    let text = "Kite Pharma Announces FDA Approval of Tecartus for mantle cell lymphoma. \
        Juno Therapeutics entered into a collaboration agreement with WuXi AppTec to develop and commercialize relma-cel in China. \
        Abecma (idecabtagene vicleucel), a BCMA-directed genetically modified autologous T cell immunotherapy, is given once. \
        The label of Abecma includes a Boxed Warning for cytokine release syndrome. \
        Health Canada granted conditional approval to Abecma in 2021, and the FDA approved Tecartus.";
    let e = run(text);
    for (s, r, o) in [
        ("tecartus", "developedBy", "kite-pharma"),
        ("tecartus", "approvedBy", "institution/fda"),
        ("relmacabtagene", "developedBy", "juno-therapeutics"),
        ("relmacabtagene", "developedBy", "wuxi-apptec"),
        ("abecma", "targets", "target/bcma"),
        ("abecma", "approvedBy", "health-canada"),
    ] {
        assert!(has(&e, s, r, o), "{s} {r} {o}: {:?}", facts(&e));
    }
    // A warning for an adverse event is not an indication; a later clause is another approval.
    assert_lacks(&e, "abecma", "treats", "crs");
    assert_lacks(&e, "tecartus", "approvedBy", "health-canada");
    assert_offsets(text, &e);
}

#[test]
fn clinical_rates_written_either_way_and_median_durations() {
    let text = "Abecma 的关键研究中，ORR 为 91.2%，中位无进展生存期为 14.5 个月，12 个月无进展生存率为 65.3%，88% 的患者达到 MRD 阴性。\
        In the trial of Abecma, the overall response rate was 77.5 percent, and 41.2 percent of patients achieved a complete response.";
    let e = run(text);
    let got: Vec<(String, String)> = e
        .clinical
        .iter()
        .map(|c| {
            (
                c.metric.clone(),
                c.value
                    .map(|v| v.normalize().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    for (m, v) in [
        ("ORR", "91.2"),
        ("median PFS", "14.5"),
        ("12-month PFS", "65.3"),
        ("MRD-negative", "88"),
        ("ORR", "77.5"),
        ("CR", "41.2"),
    ] {
        assert!(
            got.iter().any(|(a, b)| a == m && b == v),
            "{m} {v}: {got:?}"
        );
    }
    assert!(e
        .clinical
        .iter()
        .all(|c| matches!(&c.product, EntityKey::Known(id) if id.contains("abecma"))));
    assert_offsets(text, &e);
}

#[test]
fn a_table_cell_with_a_note_still_gives_its_rate() {
    let text = "产品\t靶点\t适应症\tORR\nAbecma\tBCMA\t多发性骨髓瘤\t73%（II期）\n";
    let e = run(text);
    assert!(
        e.clinical.iter().any(|c| c.metric == "ORR"
            && c.value.map(|v| v.normalize().to_string()) == Some("73".into())),
        "{:?}",
        e.clinical
    );
}

#[test]
fn discovered_institution_names_stop_at_verbs_lists_and_measure_words() {
    let e = run(
        "患者可前往星河市中心医院等医学中心接受 CAR-T 细胞治疗，也可到青湾医院和两间教学医院就诊。\
                 研究由美国北岭儿童医院牵头，另有本地生物科技公司参与；投保前应先确认医院名单。",
    );
    let found = entities(&e);
    assert!(
        found.contains(&"Hospital:星河市中心医院".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"Hospital:北岭儿童医院".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"Hospital:青湾医院".to_string()),
        "{found:?}"
    );
    // Negative: no name swallows a list, a verb, a country or a measure word.
    for bad in [
        "等医学中心",
        "两间",
        "确认医院",
        "美国北岭",
        "有本地",
        "前往",
    ] {
        assert!(found.iter().all(|x| !x.contains(bad)), "{bad}: {found:?}");
    }
}

#[test]
fn a_research_institute_ending_in_a_stop_char_is_found() {
    let e = run("星河研究所开发的 CD19 CAR-T 细胞疗法进入临床。");
    let found = entities(&e);
    assert!(
        found.contains(&"ResearchInstitute:星河研究所".to_string()),
        "{found:?}"
    );
}

#[test]
fn a_target_named_inside_a_known_technology_is_mentioned_too() {
    let e = run("该公司的 BCMA CAR-T 已送抵医院。");
    let found = entities(&e);
    assert!(
        found.contains(&"technology/bcma-car-t".to_string()),
        "{found:?}"
    );
    assert!(found.contains(&"target/bcma".to_string()), "{found:?}");
    assert_offsets("该公司的 BCMA CAR-T 已送抵医院。", &e);
    // Negative: a plain CAR-T names no target.
    let e = run("该公司的 CAR-T 已送抵医院。");
    assert!(entities(&e).iter().all(|x| !x.starts_with("target/")));
}

#[test]
fn a_compound_is_named_by_its_head_label_not_a_following_verb() {
    let e = run("研究评估 CD70 CAR-T 治疗肾细胞癌的安全性。");
    let found = entities(&e);
    assert!(
        found.iter().any(|x| x == "Technology:CD70 CAR-T"),
        "{found:?}"
    );
    assert!(found.iter().all(|x| !x.contains("CAR-T治疗")), "{found:?}");
}

#[test]
fn an_institution_inside_a_score_name_is_not_an_institution() {
    let e = run("干细胞治疗后，患者的星河关节学会评分和北岭大学膝关节指数均改善；星河关节学会发布了新指南。");
    let found = entities(&e);
    // Negative: "…学会评分" and "…大学…指数" name scores.
    assert!(found.iter().all(|x| !x.contains("北岭大学")), "{found:?}");
    assert_eq!(
        found.iter().filter(|x| x.contains("星河关节学会")).count(),
        1,
        "{found:?}"
    );
}

#[test]
fn named_drug_lists_and_quoted_mechanisms_are_policies() {
    let e = run("该市将 CAR-T 纳入“大病保险+医疗救助”联合机制，并设置肿瘤特药清单，但 CAR-T 未列入高血压用药目录。");
    let found = entities(&e);
    assert!(
        found
            .iter()
            .any(|x| x == "Policy:“大病保险+医疗救助”联合机制"),
        "{found:?}"
    );
    assert!(
        found.iter().any(|x| x == "ReimbursementList:肿瘤特药清单"),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|x| x == "ReimbursementList:高血压用药目录"),
        "{found:?}"
    );
    // Negative: a bare list word, a verb before it, a quoted slogan without a scheme word.
    let e = run("CAR-T 被称为“活药物”机制，相关药品目录尚未发布。");
    let found = entities(&e);
    assert!(
        found
            .iter()
            .all(|x| !x.starts_with("Policy:") && !x.starts_with("ReimbursementList:")),
        "{found:?}"
    );
}

#[test]
fn english_plurals_and_committees() {
    let e = run("The CAR-T therapy carries warnings for neurologic toxicities. The Regional Cell Therapy Advisory Committee reviewed it.");
    let found = entities(&e);
    assert!(
        found.contains(&"disease/neurotoxicity".to_string()),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|x| x == "GovernmentBody:Regional Cell Therapy Advisory Committee"),
        "{found:?}"
    );
    // Negative: a capitalised journal label takes no plural ("Cells" is not the journal Cell).
    let e = run("The CAR-T cells expanded. Cells were counted.");
    assert!(entities(&e)
        .iter()
        .all(|x| !x.contains("cell-journal") && !x.contains("journal")));
}

#[test]
fn targets_listed_with_deng_before_a_technology_are_its_usual_targets() {
    let e = run("目前 CD19、CD22 等靶向 CAR-T 已进入临床。");
    for t in ["target/cd19", "target/cd22"] {
        assert!(
            has(&e, "technology/car-t", "targets", t),
            "{t}: {:?}",
            facts(&e)
        );
    }
    let e = run("CD19、BCMA 等主流靶點 CAR-T 已陸續獲批上市。");
    assert_has(&e, "technology/car-t", "targets", "target/bcma");
    // One target before the technology word makes a kind of it; a list without a technology word
    // states nothing.
    for text in [
        "CD19 等靶向 CAR-T 已进入临床。",
        "CD19、CD22 等抗原在 B 细胞表面高表达，CAR-T 的研究仍在继续。",
    ] {
        let e = run(text);
        assert!(
            !has(&e, "technology/car-t", "targets", "target/"),
            "{text}: {:?}",
            facts(&e)
        );
    }
}

#[test]
fn a_scheme_granted_to_patients_or_applied_to_a_therapy_covers_it() {
    let text = "部分城市对复发难治淋巴瘤患者给予“医保+慈善援助”联合机制，减轻患者负担。";
    let e = run(text);
    assert_has(&e, "医保+慈善援助", "covers", "lymphoma");
    assert_offsets(text, &e);
    let e = run("我国对 CAR-T 产品实行“临床研究”与“药品注册”双轨审批，两条路径并行。");
    assert_has(&e, "policy/dual-track", "covers", "technology/car-t");
    // Negated: a negative fact, never coverage.
    let e = run("部分城市并未对复发难治淋巴瘤患者给予“医保+慈善援助”联合机制，患者仍需自费。");
    assert!(
        !facts(&e).iter().any(|(_, r, _)| r == "covers"),
        "{:?}",
        facts(&e)
    );
}

#[test]
fn a_therapy_managed_as_a_regulatory_category_is_covered_by_it() {
    let e = run("在我国，CAR-T 产品按“生物制品1类新药”管理，需完成三期临床试验。");
    assert!(
        has(
            &e,
            "policy/therapeutic-biologic-class-1",
            "covers",
            "technology/car-t"
        ),
        "{:?}",
        facts(&e)
    );
    let e = run("干细胞治疗尚未按“生物制品1类新药”管理，仍处于临床研究阶段。");
    assert!(
        !facts(&e).iter().any(|(_, r, _)| r == "covers"),
        "{:?}",
        facts(&e)
    );
}

#[test]
fn a_launch_that_fills_the_gap_of_a_disease_treats_it() {
    let e = run("国产 CAR-T 产品“星河仑赛”的上市，填补了国内复发难治多发性骨髓瘤的治疗空白。");
    assert_has(&e, "星河仑赛", "treats", "multiple-myeloma");
    // No disease in the gap: nothing.
    let e = run("“星河仑赛”的上市，填补了国内市场空白，多发性骨髓瘤患者仍在等待医保。");
    assert_lacks(&e, "星河仑赛", "treats", "multiple-myeloma");
}

#[test]
fn issuers_journals_and_quoted_objects_inside_longer_gaps() {
    // An issuer right before the title marks.
    let e = run("根据中华医学会《CAR-T 细胞治疗临床应用指南》，治疗前需评估患者。");
    assert!(
        facts(&e)
            .iter()
            .any(|(s, r, o)| s.contains("CAR-T细胞治疗临床应用指南")
                && r == "issuedBy"
                && o.contains("institution/cma")),
        "{:?}",
        facts(&e)
    );
    // A journal between the institution and the verb.
    let e = run("星河市第一医院在国际期刊《Journal of Regenerative Cells》上发表了一项脐带间充质干细胞治疗膝骨关节炎的研究。");
    assert!(
        facts(&e).iter().any(|(s, r, o)| s.contains("uc-msc")
            && r == "studiedBy"
            && o.contains("星河市第一医院")),
        "{:?}",
        facts(&e)
    );
    // A quoted object naming two mentions.
    let e = run("2025 年“沪惠保”将“CAR-T 治疗淋巴瘤”纳入特药保障。");
    assert_has(&e, "policy/huhuibao", "covers", "technology/car-t");
    let e = run("“沪惠保”并未将“干细胞治疗糖尿病”纳入特药保障。");
    assert!(
        !facts(&e).iter().any(|(_, r, _)| r == "covers"),
        "{:?}",
        facts(&e)
    );
    // "开发的“…”": the quoted system is developed by the institution; negated, nothing.
    let e = run("星河大学开发的“3D微载体培养系统”使干细胞扩增成本大幅下降。");
    assert!(
        facts(&e).iter().any(|(s, r, o)| s.contains("microcarrier")
            && r == "developedBy"
            && o.contains("星河大学")),
        "{:?}",
        facts(&e)
    );
    let e = run("星河大学并未开发“3D微载体培养系统”，只是参与了测试。");
    assert!(
        !facts(&e).iter().any(|(_, r, _)| r == "developedBy"),
        "{:?}",
        facts(&e)
    );
}

#[test]
fn a_therapy_given_to_a_patient_or_a_drug_that_handles_a_disease_treats_it() {
    let text = "该院上月为一名瀰漫性大B细胞淋巴瘤病人完成首例 CAR-T 细胞输注。";
    let e = run(text);
    assert_has(&e, "technology/car-t", "treats", "disease/dlbcl");
    assert_offsets(text, &e);
    // A trial is not a treatment fact.
    let e = run("该院为一名淋巴瘤病人完成了 CAR-T 临床试验的入组。");
    assert_lacks(&e, "technology/car-t", "treats", "lymphoma");
    let e = run("出现重度细胞因子释放综合征时，通常使用托珠单抗（tocilizumab）处理。");
    assert_has(&e, "tocilizumab", "treats", "disease/crs");
    // Negated: no treats fact at all.
    let e = run("细胞因子释放综合征并未使用托珠单抗处理。");
    assert_lacks(&e, "tocilizumab", "treats", "disease/crs");
}

#[test]
fn a_programme_word_is_not_a_plan() {
    // "用药计划" is a programme: the indication after it is asserted.
    let e = run("伊基奥仑赛透过指定患者用药计划送抵澳门，用于多发性骨髓瘤病人。");
    assert!(
        has(
            &e,
            "equecabtagene-autoleucel",
            "treats",
            "disease/multiple-myeloma"
        ),
        "{:?}",
        facts(&e)
    );
    // A plan is still a hedge.
    let e = run("伊基奥仑赛计划明年送抵澳门，用于多发性骨髓瘤病人。");
    assert_lacks(&e, "equecabtagene-autoleucel", "treats", "multiple-myeloma");
}

#[test]
fn english_coverage_after_a_place() {
    let e = run("Temcell was the first allogeneic cell product approved in Japan and is reimbursed under the national health insurance system.");
    assert_has(&e, "policy/", "covers", "product/temcell");
    let e = run("Temcell was approved in Japan but is not reimbursed under the national health insurance system.");
    assert_lacks(&e, "policy/", "covers", "product/temcell");
}

#[test]
fn a_hospital_in_a_table_cell_after_a_latin_cell_is_the_developer() {
    let text = "产品\t靶点\t适应症\t研发企业/机构\n\
                GPC3 CAR-T（星河-01）\tGPC3\tHCC\t星河儿童医院\n";
    let e = run(text);
    assert!(
        facts(&e).iter().any(|(s, r, o)| s.contains("gpc3")
            && r == "developedBy"
            && o == "Hospital:星河儿童医院"),
        "{:?}",
        facts(&e)
    );
    // A Latin name before the hospital word in the same cell still belongs to it.
    let e = run("产品\t靶点\t研发企业/机构\nGD2 CAR-T\tGD2\tBambino Gesù 儿童医院\n");
    assert!(
        entities(&e).iter().any(|k| k.contains("Bambino Gesù")),
        "{:?}",
        entities(&e)
    );
}

#[test]
fn a_guideline_recommendation_is_not_a_hedge_but_an_expert_proposal_is() {
    let e = run("国内外指南建议采用托珠单抗等抗 IL-6 药物。");
    assert_has(&e, "tocilizumab", "targets", "target/il-6");
    let e = run("有专家建议将 CAR-T 纳入国家医保目录。");
    assert_lacks(&e, "policy/nrdl", "covers", "technology/car-t");
}

#[test]
fn a_lexicon_guideline_title_covers_what_it_names_but_a_drug_list_does_not() {
    let e = run("近期发布的《人脐带间充质干细胞治疗膝骨性关节炎临床应用指南》明确了适应症。");
    for o in ["uc-msc", "knee-osteoarthritis"] {
        assert!(
            has(&e, "ucmsc-knee-oa-guideline", "covers", o),
            "{o}: {:?}",
            facts(&e)
        );
    }
    let e = run("该药已进入星河市糖尿病用药目录。");
    assert!(
        !facts(&e)
            .iter()
            .any(|(s, r, o)| s.contains("糖尿病用药目录")
                && r == "covers"
                && o.contains("diabetes")),
        "{:?}",
        facts(&e)
    );
}

#[test]
fn the_product_opening_a_sentence_is_described_by_a_later_copula() {
    let text = "Carvykti（传奇生物）含有自体 T 细胞和慢病毒载体，是首款用于治疗多发性骨髓瘤的 BCMA CAR-T 产品。";
    let e = run(text);
    assert_has(&e, "carvykti", "treats", "multiple-myeloma");
    assert_offsets(text, &e);
    // Not at the start of the sentence: the copula may describe something else.
    let e = run("据报道，诺华与 Carvykti 的竞争加剧，是多发性骨髓瘤领域的热点话题。");
    assert_lacks(&e, "carvykti", "treats", "multiple-myeloma");
}

#[test]
fn follow_ups_gaps_and_citations_are_not_treatment_facts() {
    // A follow-up study: investigational, not established.
    let e = run("另一项随访 96 周的 CAR-T 治疗淋巴瘤研究亦未发现继发肿瘤。");
    assert_lacks(&e, "technology/car-t", "treats", "lymphoma");
    // "填补了…的免疫治疗空白": the missing therapy does not treat the disease.
    let e = run("该产品的上市填补了国内淋巴瘤的免疫治疗空白。");
    assert_lacks(&e, "immunotherapy", "treats", "lymphoma");
    // A reference list entry keeps its names but states no fact.
    let text = "- [3] CAR-T在淋巴瘤中的应用进展 - 星河医学网。网址：https://example.org/3.";
    let e = run(text);
    assert!(
        entities(&e).iter().any(|k| k == "technology/car-t"),
        "{:?}",
        entities(&e)
    );
    assert!(e.assertions.is_empty(), "{:?}", facts(&e));
    // The same words in prose are a fact.
    let e = run("CAR-T 在淋巴瘤中的应用已相当成熟。");
    assert_has(&e, "technology/car-t", "treats", "lymphoma");
}

#[test]
fn a_product_before_a_therapy_word_and_a_disease_treats_it() {
    let e = run("如星河仑赛细胞治疗淋巴瘤，已有个案报道。");
    assert_has(&e, "星河仑赛", "treats", "lymphoma");
    // Something between the therapy word and the disease: no fact from this pattern.
    let e = run("星河仑赛细胞治疗的费用与淋巴瘤患者的负担有关。");
    assert_lacks(&e, "星河仑赛", "treats", "lymphoma");
}

#[test]
fn a_variant_name_drops_the_generic_cell_word() {
    let e = run("星河大学团队研发出成本不足 10 万元的“装甲型” CAR-T 细胞，有望降低治疗费用。");
    let names = entities(&e);
    assert!(
        names
            .iter()
            .any(|k| k.ends_with("装甲型”CAR-T") || k.contains("armored")),
        "{names:?}"
    );
    assert!(!names.iter().any(|k| k.ends_with("CAR-T细胞")), "{names:?}");
}

#[test]
fn an_ingredient_before_a_copula_does_not_take_the_indication() {
    let text = "Carvykti（传奇生物）含有自体 T 细胞和托珠单抗,是首款获批用于治疗多发性骨髓瘤的 CAR-T 产品。";
    let e = run(text);
    assert_lacks(&e, "tocilizumab", "treats", "multiple-myeloma");
    assert_has(&e, "carvykti", "treats", "multiple-myeloma");
    // A comma right before the indication still joins it to the product.
    let e =
        run("国家药监局批准星河仑赛注射液（商品名：星河安）上市，用于治疗复发难治性多发性骨髓瘤。");
    assert_has(&e, "星河仑赛", "treats", "multiple-myeloma");
}

#[test]
fn every_institution_of_a_list_studies_the_first_therapy_after_the_verb() {
    let e = run("星河大学医学院（星大医学院）及北辰大学医学院（北大医学院）均有团队进行 CAR-T 及干细胞治疗的研究。");
    for o in ["星河大学医学院", "北辰大学医学院"] {
        assert!(
            facts(&e)
                .iter()
                .any(|(s, r, x)| s == "technology/car-t" && r == "studiedBy" && x.contains(o)),
            "{o}: {:?}",
            facts(&e)
        );
    }
    // Only the first therapy after the verb.
    assert_lacks(&e, "stem-cell-therapy", "studiedBy", "星河大学医学院");
}

#[test]
fn a_maker_described_product_with_two_technology_words() {
    let e2 = run("在国际上，美国星河制药的异体干细胞来源胰岛细胞疗法 stellaleucel 也在推进。");
    assert!(
        facts(&e2).iter().any(|(s, r, o)| s.contains("stellaleucel")
            && r == "developedBy"
            && o.contains("星河制药")),
        "{:?}",
        facts(&e2)
    );
    // A place, not a maker, before the description.
    let e = run("在美国，异体干细胞来源胰岛细胞疗法 stellaleucel 也在推进。");
    assert!(
        !facts(&e).iter().any(|(_, r, _)| r == "developedBy"),
        "{:?}",
        facts(&e)
    );
}

/// A batch extracts each document as it would be extracted alone: the seeds together (one of
/// them twice, and in reverse order) give, document for document, what each gives by itself.
#[test]
fn a_batch_extracts_each_document_as_alone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut docs = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            docs.push(
                cellkg::ingest::read_document(&root, &path)
                    .unwrap()
                    .unwrap(),
            );
        }
    }
    docs.sort_by(|a, b| b.info.path.cmp(&a.info.path));
    assert!(docs.len() >= 3, "seeds: {}", docs.len());
    let bytes = |e: &Extraction| postcard::to_allocvec(e).unwrap();
    let alone: Vec<Vec<u8>> = docs
        .iter()
        .map(|d| bytes(&extractor().extract(d.info.clone(), &d.text)))
        .collect();
    let mut batch: Vec<(DocumentInfo, &str)> = docs
        .iter()
        .map(|d| (d.info.clone(), d.text.as_str()))
        .collect();
    batch.push(batch[0].clone());
    let together = extractor().extract_batch(batch);
    assert_eq!(together.len(), docs.len() + 1);
    for (i, e) in together.iter().enumerate() {
        let expected = &alone[i % docs.len()];
        assert_eq!(&bytes(e), expected, "document {i} differs in the batch");
    }
    assert!(together.iter().map(|e| e.assertions.len()).sum::<usize>() > 50);
}
