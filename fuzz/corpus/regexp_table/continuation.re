/^(.*)@(.*)$/  $2
  continued as part of the result
