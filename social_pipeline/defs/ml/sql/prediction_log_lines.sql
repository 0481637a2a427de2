-- Every line of the prediction log files ($files), parsed where it is valid JSON.
SELECT
    filename AS source_file,
    line,
    json_valid(line) AS is_valid,
    CASE WHEN json_valid(line) THEN line::JSON END AS doc
FROM (
    SELECT filename, line
    FROM read_csv($files, columns = {'line': 'VARCHAR'}, delim = $delim, quote = '', escape = '',
                  header = false, filename = true, auto_detect = false)
    WHERE trim(line) <> ''
)
