// A picked CSV file fills the text box of its form (the form posts text, so the page works
// without this script: paste the file's content instead).
document.querySelectorAll("input[type=file][data-fills]").forEach(function (input) {
  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    var target = document.getElementById(input.dataset.fills);
    if (!file || !target) return;
    file.text().then(function (text) { target.value = text; });
  });
});
