from django import forms

MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # the larger provider limit (a Message Batch); Bedrock's is checked later


class BatchUploadForm(forms.Form):
    file = forms.FileField(label="Requests (.jsonl)", help_text="One Messages request per line: "
                           '{"custom_id": "a-1", "params": {"model": "haiku", "max_tokens": 256, "messages": [...]}} '
                           "or a bare request.")
    name = forms.SlugField(required=False, max_length=40, label="Name (optional)")
    agent = forms.CharField(required=False, max_length=128, label="Agent (usage is recorded under it)")
    provider = forms.ChoiceField(required=False, label="Provider")

    def __init__(self, *args, providers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [("", "The active primary")] + [(p, p) for p in providers]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 256 MB, the most any provider takes in one batch; "
                                        "split it.")
        return upload
