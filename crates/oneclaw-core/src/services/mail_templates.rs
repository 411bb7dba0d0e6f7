//! The words of every mail: plain text plus simple HTML, each saying what to do and by when.

use crate::mail::Message;

/// Escapes text for an HTML body (addresses and names come from users).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(paragraphs: &[String], link: Option<(&str, &str)>) -> String {
    let mut body = String::from("<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">");
    for paragraph in paragraphs {
        body.push_str("<p>");
        body.push_str(&escape(paragraph));
        body.push_str("</p>");
    }
    if let Some((label, url)) = link {
        body.push_str(&format!("<p><a href=\"{}\">{}</a></p>", escape(url), escape(label)));
    }
    body.push_str("<p style=\"color:#666\">oneclaw</p></body></html>");
    body
}

/// Confirms the address of a new account.
pub fn verify_email(link: &str, hours: i64) -> Message {
    let lines = vec![
        "Confirm this email address for your oneclaw account.".to_owned(),
        format!("The link works once, within {hours} hours. If you did not sign up, ignore this mail."),
    ];
    Message {
        subject: "Confirm your email address".to_owned(),
        text: format!("{}\n\n{link}\n\n{}\n", lines[0], lines[1]),
        html: html(&lines, Some(("Confirm my address", link))),
    }
}

/// A sign-up with an address that already has an account: its owner is told (the person
/// signing up is answered as if the account were new, so sign-up does not reveal who has one).
pub fn account_exists(signin_link: &str, forgot_link: &str) -> Message {
    let lines = vec![
        "Someone tried to create a oneclaw account with this email address, which already has one.".to_owned(),
        format!("If it was you, sign in instead: {signin_link}"),
        format!(
            "Forgot your password? Ask for a reset link: {forgot_link}. If it was not you, ignore this mail: nothing \
             changed."
        ),
    ];
    Message {
        subject: "You already have a oneclaw account".to_owned(),
        text: format!("{}\n\n{}\n\n{}\n", lines[0], lines[1], lines[2]),
        html: html(&lines, Some(("Sign in", signin_link))),
    }
}

/// A password reset the account's owner (or someone else) asked for.
pub fn password_reset(link: &str, minutes: i64) -> Message {
    let lines = vec![
        "Someone asked to reset the password of your oneclaw account.".to_owned(),
        format!(
            "Choose a new password with this link; it works once, within {minutes} minutes, and signs out every \
             session. If it was not you, ignore this mail: your password stays as it is."
        ),
    ];
    Message {
        subject: "Reset your oneclaw password".to_owned(),
        text: format!("{}\n\n{link}\n\n{}\n", lines[0], lines[1]),
        html: html(&lines, Some(("Choose a new password", link))),
    }
}

/// An invitation to an organization.
pub fn invite(link: &str, inviter: &str, role: &str, days: i64) -> Message {
    let lines = vec![
        format!("{inviter} invited you to their organization on oneclaw, as {role}."),
        format!("Sign up with this link to join; it works once, for this address, within {days} days."),
    ];
    Message {
        subject: "You are invited to oneclaw".to_owned(),
        text: format!("{}\n\n{link}\n\n{}\n", lines[0], lines[1]),
        html: html(&lines, Some(("Accept the invitation", link))),
    }
}

/// The code that confirms a new address.
pub fn email_change_code(code: &str, minutes: i64) -> Message {
    let lines = vec![
        format!("Your code to confirm this address for your oneclaw account: {code}"),
        format!("Enter it within {minutes} minutes. If you did not ask for this, ignore this mail."),
    ];
    Message {
        subject: "Confirm your new email address".to_owned(),
        text: format!("{}\n\n{}\n", lines[0], lines[1]),
        html: html(&lines, None),
    }
}

/// Tells the old address that the account moved.
pub fn email_changed(new_email: &str) -> Message {
    let lines = vec![
        format!("The email address of your oneclaw account was changed to {new_email}."),
        "If you did not do this, sign in and change your password, or ask an admin of your organization.".to_owned(),
    ];
    Message {
        subject: "Your oneclaw email address was changed".to_owned(),
        text: format!("{}\n\n{}\n", lines[0], lines[1]),
        html: html(&lines, None),
    }
}

/// An approver is asked to decide a request; the link opens a page to approve or reject it.
pub fn approval_request(what: &str, requester: &str, link: &str, minutes: i64) -> Message {
    let lines = vec![
        format!("{requester} asks for approval: {what}."),
        format!(
            "Open the link to approve it (once) or reject it, within {minutes} minutes. The link decides \
             only this request and works once; you can also decide under Approvals in the dashboard."
        ),
    ];
    Message {
        subject: format!("Approval needed: {what}"),
        text: format!("{}\n\n{link}\n\n{}\n", lines[0], lines[1]),
        html: html(&lines, Some(("Approve or reject", link))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_link_and_escape_what_users_wrote() {
        let mail = invite("https://vault.example/signup?invite=oci_x", "<b>mallory</b>", "admin", 7);
        assert!(mail.text.contains("https://vault.example/signup?invite=oci_x") && mail.text.contains("7 days"));
        assert!(mail.html.contains("&lt;b&gt;mallory&lt;/b&gt;") && !mail.html.contains("<b>mallory"));
        assert!(password_reset("https://x/r?token=t", 60).text.contains("60 minutes"));
    }
}
