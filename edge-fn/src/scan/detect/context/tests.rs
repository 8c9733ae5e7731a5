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

#[test]
fn credentials_in_several_languages_but_not_their_rules() {
    for name in [
        "password",
        "newPassword",
        "user_pwd",
        "passwd",
        "pin",
        "card_pin",
        "Kennwort",
        "Passwort",
        "mot_de_passe",
        "contraseña",
        "wachtwoord",
        "lösenord",
        "salasana",
        "hasło",
        "senha",
    ] {
        assert!(Field::new(name, &[]).is_credential(), "{name}");
    }
    for name in [
        "passwordPolicy",
        "passwordChangedAt",
        "password_expires",
        "passwordLength",
        "hasLocation",
        "theSlot",
        "passenger",
        "pinned",
        "spinner",
        "compass",
    ] {
        assert!(!Field::new(name, &[]).is_credential(), "{name}");
    }
}

#[test]
fn account_names_in_several_languages() {
    for name in [
        "username",
        "user_name",
        "login",
        "loginName",
        "nickname",
        "Benutzername",
        "nom_utilisateur",
        "nombre_de_usuario",
        "gebruikersnaam",
        "användarnamn",
        "käyttäjätunnus",
    ] {
        assert!(Field::new(name, &[]).is_account_name(), "{name}");
    }
    for name in ["loginAttempts", "lastLogin", "name", "userId", "renamed"] {
        assert!(!Field::new(name, &[]).is_account_name(), "{name}");
    }
}
