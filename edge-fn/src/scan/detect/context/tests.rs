//! Unit tests.

use super::field::*;
#[test]
fn person_names_need_a_person_field() {
    assert!(Field::new("firstName", &["user"]).is_person_name());
    assert!(Field::new("name", &["customer"]).is_person_name());
    assert!(Field::new("name", &[]).is_person_name());
    assert!(!Field::new("name", &["items"]).is_person_name());
    assert!(!Field::new("name", &["settings"]).is_person_name());
    assert!(!Field::new("productName", &["user"]).is_person_name());
    assert!(!Field::new("userName", &[]).is_person_name());
    assert!(Field::new("Nazwisko", &[]).is_person_name());
}

#[test]
fn birth_words_in_several_languages() {
    for name in [
        "dateOfBirth",
        "geburtsdatum",
        "date_de_naissance",
        "fecha_nacimiento",
        "data_di_nascita",
        "geboortedatum",
        "födelsedatum",
        "data_urodzenia",
        "datum_rođenja",
    ] {
        assert!(Field::new(name, &[]).is_birth_date(), "{name}");
    }
    assert!(!Field::new("createdAt", &[]).is_birth_date());
}
