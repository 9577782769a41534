use apiwatch_detect::*;
#[test]
fn tmp_pack() {
    let sources: Vec<(String, String)> = pack::builtin_sources().into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    match RuleSet::from_sources(&sources) {
        Err(e) => panic!("{e}"),
        Ok(set) => {
            let t = std::time::Instant::now();
            let r = run_rule_tests(&set, &apiwatch_core::redact::Redactor::new([7; 32]));
            println!("{r}"); for rr in &r.rules { for c in &rr.cases { println!("{} {} {}", rr.rule, c.expect, c.detail); } }
            println!("{:?}", t.elapsed());
        }
    }
}
