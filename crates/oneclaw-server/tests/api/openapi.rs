//! The served OpenAPI document (issue 19): served in both forms, and every operation it lists
//! is one the server routes (the other direction, every route the suite reaches being listed,
//! is held by the test kit's check of each answer).

use oneclaw_testkit::spawn_app;
use reqwest::Method;

#[tokio::test]
async fn the_document_is_served_and_every_operation_it_lists_is_routed() {
    let app = spawn_app().await;
    let served = app.http.get(format!("{}/v1/openapi.json", app.base_url)).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "application/json");
    let document: serde_json::Value = served.json().await.unwrap();
    assert_eq!(&document, oneclaw_server::openapi::document());
    assert_eq!(document["openapi"], "3.1.0");
    let yaml = app.http.get(format!("{}/v1/openapi.yaml", app.base_url)).send().await.unwrap();
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    assert!(yaml.text().await.unwrap().contains("openapi: 3.1.0"));
    // Schemathesis parses a YAML answer before it checks it: the document says it is an object.
    let yaml_answer = &document["paths"]["/v1/openapi.yaml"]["get"]["responses"]["200"]["content"];
    assert_eq!(yaml_answer["application/yaml"]["schema"]["type"], "object");

    let mut operations = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        let path = template
            .split('/')
            .map(|segment| if segment.starts_with('{') { "00000000-0000-7000-8000-000000000000" } else { segment })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = app.raw(method.as_str(), &path, None, None).await;
            let fell_through = answer.status == 405 || (answer.status == 404 && answer.text.contains("No such route"));
            assert!(!fell_through, "{method} {template} is listed but not routed: {}", answer.text);
            operations += 1;
        }
    }
    assert!(operations >= 125, "only {operations} operations");
}
