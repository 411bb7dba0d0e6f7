//! Finding one form of a credential in one layer of text (`layers` decodes the escapes): a
//! search over (form position, text position) pairs where each step reads one form byte in
//! either letter case, `+` for a space, a quote doubled (CSV, SQL), or skips a line break inside
//! the match (wrapped base64).

/// How many (form position, text position) pairs one attempt may visit before giving up on a
/// start: a bound on pathological answers, far above what a real match needs.
const VISIT_BUDGET: usize = 4096;

/// Reused buffers of one redaction pass.
#[derive(Default)]
pub(super) struct Matcher {
    stack: Vec<(usize, usize)>,
    seen: Vec<(usize, usize)>,
    steps: Vec<(usize, usize)>,
}

impl Matcher {
    /// Where the longest match of `form` that starts at `start` ends, if one does.
    pub(super) fn match_end(&mut self, form: &[u8], text: &[u8], start: usize) -> Option<usize> {
        self.steps.clear();
        steps(form, 0, text, start, &mut self.steps);
        if self.steps.is_empty() {
            return None;
        }
        self.stack.clear();
        self.seen.clear();
        self.stack.push((0, start));
        let mut best = None;
        while let Some((i, p)) = self.stack.pop() {
            if i == form.len() {
                best = best.max(Some(p));
                continue;
            }
            if self.seen.len() >= VISIT_BUDGET {
                break;
            }
            self.steps.clear();
            steps(form, i, text, p, &mut self.steps);
            for &next in &self.steps {
                if !self.seen.contains(&next) {
                    self.seen.push(next);
                    self.stack.push(next);
                }
            }
        }
        best
    }
}

/// Every way the text at `p` can spell form byte `i`, or be skipped inside a match: the
/// (form position, text position) each leads to.
fn steps(form: &[u8], i: usize, text: &[u8], p: usize, out: &mut Vec<(usize, usize)>) {
    let (Some(&want), Some(&got)) = (form.get(i), text.get(p)) else {
        return;
    };
    if i > 0 && matches!(got, b'\r' | b'\n') {
        out.push((i, p + 1));
    }
    if got.eq_ignore_ascii_case(&want) || (want == b' ' && got == b'+') {
        out.push((i + 1, p + 1));
    }
    if matches!(want, b'"' | b'\'') && got == want && text.get(p + 1) == Some(&want) {
        out.push((i + 1, p + 2));
    }
}
